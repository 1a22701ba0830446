/**
 * Runs a tree's workflow: every step is an ask to a supervised agent of the tree (crashes are the
 * supervisor's business; a failed ask is retried per the step's policy), started as soon as the steps
 * it depends on are done, at most `concurrency` at once. A required step that fails after its retries
 * fails the workflow at once and interrupts the steps still running. Every move is an event.
 */

import { randomUUID } from "node:crypto";
import { Cause, Data, Duration, Effect, Either, Exit, Option, Schedule, Schema } from "effect";
import type { ArborEventInput } from "../../runtime/events.ts";
import type { Usage } from "../../runtime/model.ts";
import type { AgentNode, AgentSystemService } from "../../runtime/system.ts";
import { tracingActive, withSpan } from "../../runtime/tracing.ts";
import { approvalOutput, approvalStepId, awaitApprovalStep, promptAsShown } from "./approval-step.ts";
import { type Ready, runDag } from "./dag.ts";
import { readPlan } from "./plan.ts";
import {
  type Condition,
  defaultBackoffMs,
  defaultConcurrency,
  type StepSpec,
  WorkflowSpec,
} from "./schema.ts";
import { render } from "./template.ts";

/** What became of one step. */
export interface StepOutcome {
  readonly id: string;
  readonly status: "completed" | "skipped" | "failed" | "cancelled";
  readonly output: string;
  readonly attempts: number;
  readonly reason?: string;
}

/** What `workflow.run` answers. */
export interface WorkflowResult {
  readonly run: string;
  readonly status: "completed" | "failed";
  readonly output: string;
  readonly steps: ReadonlyArray<StepOutcome>;
  /** Tokens of every ask the workflow made (plans' steps included). */
  readonly usage: Usage;
  readonly reason?: string;
}

/** The tree has no workflow to run (its spec has no `workflow` section). */
export class NoWorkflow extends Data.TaggedError("NoWorkflow")<{ readonly treeId: string }> {
  readonly fault = "user" as const;
  override get message(): string {
    return `tree ${this.treeId} has no workflow: add a workflow section to its spec`;
  }
}

class StepFailed extends Data.TaggedError("StepFailed")<{ readonly step: string; readonly reason: string }> {}

const holds = (condition: Condition, output: string): boolean =>
  condition.contains !== undefined
    ? output.includes(condition.contains)
    : condition.notContains !== undefined
      ? !output.includes(condition.notContains)
      : condition.equals !== undefined
        ? output.trim() === condition.equals
        : new RegExp(condition.matches ?? "").test(output);

export interface RunWorkflowOptions {
  /** Called with every event as it is published (the CLI prints steps from these). */
  readonly onEvent?: (event: ArborEventInput) => void;
  /**
   * Names the run. Each step asks its agent with the idempotency key `<runId>/<step>`, so running
   * again with the same id — after a lost connection, or after a restart of the server on a durable
   * tree — takes the finished steps' replies as they were and joins the steps still running,
   * instead of running them twice. Gotcha: a keyed step is not withdrawn at its `timeoutMs`: a retry
   * joins it.
   */
  readonly runId?: string;
}

/** Workflows as decoded, by the spec section they came from (a tree's spec does not change). */
const decoded = new WeakMap<object, WorkflowSpec>();

/** The typed workflow: validated when the tree was spawned, decoded once per spec. */
const decodedWorkflow = (raw: unknown): WorkflowSpec => {
  if (typeof raw !== "object" || raw === null) return Schema.decodeUnknownSync(WorkflowSpec)(raw);
  let workflow = decoded.get(raw);
  if (workflow === undefined) {
    workflow = Schema.decodeUnknownSync(WorkflowSpec)(raw);
    decoded.set(raw, workflow);
  }
  return workflow;
};

/**
 * `wf_` and 12 random hex digits: the first twelve of a v4 UUID (all random; the version digit is
 * the thirteenth). `randomUUID` draws from a pooled buffer, where `randomBytes` asks the OS each time.
 */
const newRunId = (): string => {
  const uuid = randomUUID();
  return `wf_${uuid.slice(0, 8)}${uuid.slice(9, 13)}`;
};

/** Runs the workflow of tree `treeId` on `input`; fails only when the tree or its workflow is missing. */
export const runWorkflow = (
  system: AgentSystemService,
  treeId: string,
  input: string,
  options: RunWorkflowOptions = {},
) =>
  Effect.gen(function* () {
    const spec = yield* system.specOf(treeId);
    if (spec.workflow === undefined) return yield* new NoWorkflow({ treeId });
    const workflow = decodedWorkflow(spec.workflow);
    const root = yield* system.inspect(treeId);
    const run = options.runId ?? newRunId();
    return yield* execute({ system, treeId, root, options }, workflow, input, run).pipe(
      withSpan("workflow.run", () => ({ "arbor.tree": treeId, "arbor.workflow.run": run })),
    );
  });

interface Context {
  readonly system: AgentSystemService;
  readonly treeId: string;
  readonly root: AgentNode;
  readonly options: RunWorkflowOptions;
}

const execute = (
  ctx: Context,
  workflow: Schema.Schema.Type<typeof WorkflowSpec>,
  input: string,
  run: string,
): Effect.Effect<WorkflowResult> =>
  Effect.suspend(() => {
    const { system, treeId, root, options } = ctx;
    const usage = { inputTokens: 0, outputTokens: 0 };
    const addressOf = (agent: string | undefined) =>
      agent === undefined || agent === root.name ? root.address : `${root.address}/${agent}`;
    const onEvent = options.onEvent;
    const publish = (event: ArborEventInput) =>
      onEvent === undefined
        ? system.events.publish(event)
        : Effect.zipRight(
            Effect.sync(() => onEvent(event)),
            system.events.publish(event),
          );
    /** The same, at once: for steps driven by callbacks, outside any fiber. */
    const publishNow = (event: ArborEventInput) => {
      onEvent?.(event);
      system.events.publishSync(event);
    };
    /** Whether an event of `type` would reach anyone: the hot steps build theirs only then. */
    const wanted = (type: ArborEventInput["type"]) => onEvent !== undefined || system.events.wants(type);
    const addUsage = (used: { readonly inputTokens: number; readonly outputTokens: number }) => {
      usage.inputTokens += used.inputTokens;
      usage.outputTokens += used.outputTokens;
    };
    const base = (address: string) => ({ tree: treeId, address, id: run });
    const outputs = new Map<string, string>();
    const outcomes = new Map<string, StepOutcome>();

    const finish = (step: StepSpec, outcome: StepOutcome) => {
      outcomes.set(step.id, outcome);
      outputs.set(step.id, outcome.output);
    };
    /** Records an ask step's answer. */
    const recordCompleted = (step: StepSpec, attempts: number, output: string) =>
      finish(step, { id: step.id, status: "completed", output, attempts });
    /** Records an ask step's answer; the event that says so. */
    const completed = (step: StepSpec, address: string, attempts: number, output: string) => {
      recordCompleted(step, attempts, output);
      return completedEvent(step, address, attempts, output);
    };
    /** The event saying an ask step answered. */
    const completedEvent = (step: StepSpec, address: string, attempts: number, output: string) => {
      return {
        type: "workflow.step.completed",
        ...base(address),
        run,
        step: step.id,
        attempts,
        output,
      } satisfies ArborEventInput;
    };
    /** Records an ask step's failure after its attempts (an optional step is skipped): the event, and the failure that stops the run. */
    const failedAfter = (step: StepSpec, address: string, attempts: number, message: string) => {
      const reason = `failed after ${attempts} attempt${attempts > 1 ? "s" : ""}: ${message}`;
      if (step.optional) {
        finish(step, { id: step.id, status: "skipped", output: "", attempts, reason });
        const event: ArborEventInput = {
          type: "workflow.step.skipped",
          ...base(address),
          run,
          step: step.id,
          reason,
        };
        return { event, error: undefined };
      }
      outcomes.set(step.id, { id: step.id, status: "failed", output: "", attempts, reason });
      const event: ArborEventInput = {
        type: "workflow.step.failed",
        ...base(address),
        run,
        step: step.id,
        reason,
      };
      return { event, error: new StepFailed({ step: step.id, reason }) };
    };

    /**
     * An ask step with nothing around the ask (no retries, plan, deadline, idempotency key or span):
     * driven by callbacks, with no fiber. Its events are published as they happen.
     */
    const plainAsk = (step: StepSpec): Ready<StepFailed> => ({
      permit: true,
      start: (done) => {
        const address = addressOf(step.agent);
        const text = render(step.input ?? "{{input}}", input, outputs);
        if (wanted("workflow.step.started"))
          publishNow({ type: "workflow.step.started", ...base(address), run, step: step.id, attempt: 1 });
        return system.askWith(address, text, (exit) => {
          if (Exit.isSuccess(exit)) {
            addUsage(exit.value.usage);
            recordCompleted(step, 1, exit.value.output);
            if (wanted("workflow.step.completed"))
              publishNow(completedEvent(step, address, 1, exit.value.output));
            return done(Exit.void);
          }
          const failure = Cause.failureOption(exit.cause);
          if (Option.isNone(failure)) return done(Exit.failCause(exit.cause as Cause.Cause<never>));
          const { event, error } = failedAfter(step, address, 1, failure.value.message);
          publishNow(event);
          done(error === undefined ? Exit.void : Exit.fail(error));
        });
      },
    });

    const attemptStep = (step: StepSpec): Effect.Effect<void, StepFailed> => {
      const address = addressOf(step.agent);
      const text = render(step.input ?? "{{input}}", input, outputs);
      const retries = step.retry?.max ?? 0;
      const askOptions = {
        ...(step.timeoutMs !== undefined ? { timeoutMs: step.timeoutMs } : {}),
        ...(options.runId !== undefined ? { idempotencyKey: `${run}/${step.id}` } : {}),
      };
      let attempts = 0;
      const once = Effect.suspend(() => {
        attempts++;
        return Effect.zipRight(
          publish({ type: "workflow.step.started", ...base(address), run, step: step.id, attempt: attempts }),
          system.ask(address, text, askOptions),
        ).pipe(
          withSpan("workflow.step", () => ({
            "arbor.workflow.run": run,
            "arbor.workflow.step": step.id,
            "arbor.workflow.attempt": attempts,
            "arbor.agent.address": address,
          })),
        );
      });
      const planned = (output: string) =>
        Effect.gen(function* () {
          const plan = readPlan(output, root);
          if (Either.isLeft(plan)) return yield* Effect.fail(new Error(plan.left));
          const result = yield* execute(ctx, plan.right, input, `${run}/${step.id}`);
          addUsage(result.usage);
          if (result.status === "failed")
            return yield* Effect.fail(new Error(`its plan failed: ${result.reason}`));
          return result.output;
        });
      const answered: Effect.Effect<string, Error> = Effect.flatMap(once, (reply) => {
        addUsage(reply.usage);
        return step.plan ? planned(reply.output) : Effect.succeed(reply.output);
      });
      // No schedule to build or step through for a step that is not retried.
      const retried =
        retries === 0
          ? answered
          : Effect.retry(
              Effect.tapError(answered, (error) =>
                attempts <= retries
                  ? publish({
                      type: "workflow.step.retried",
                      ...base(address),
                      run,
                      step: step.id,
                      attempt: attempts,
                      reason: error.message,
                    })
                  : Effect.void,
              ),
              Schedule.exponential(Duration.millis(step.retry?.backoffMs ?? defaultBackoffMs)).pipe(
                Schedule.intersect(Schedule.recurs(retries)),
              ),
            );
      return Effect.matchEffect(retried, {
        onSuccess: (output) => publish(completed(step, address, attempts, output)),
        onFailure: (failure) => {
          const { event, error } = failedAfter(step, address, attempts, failure.message);
          return error === undefined ? publish(event) : Effect.zipRight(publish(event), Effect.fail(error));
        },
      });
    };

    const approveStep = (step: StepSpec, template: string) =>
      Effect.gen(function* () {
        const address = root.address;
        const prompt = render(template, input, outputs);
        const shown = yield* promptAsShown(system, root, prompt);
        const approvalId = approvalStepId(treeId, root, run, step.id);
        yield* publish({ type: "workflow.step.started", ...base(address), run, step: step.id, attempt: 1 });
        yield* publish({
          type: "workflow.step.waiting",
          ...base(address),
          run,
          step: step.id,
          approvalId,
          prompt: shown,
        });
        const decision = yield* awaitApprovalStep(system, {
          treeId,
          root,
          run,
          step: step.id,
          prompt,
          shown,
        });
        const output = approvalOutput(decision);
        if (decision.decision === "approve") {
          yield* publish({
            type: "workflow.step.completed",
            ...base(address),
            run,
            step: step.id,
            attempts: 1,
            output,
          });
          return finish(step, { id: step.id, status: "completed", output, attempts: 1 });
        }
        const reason = `denied by ${decision.by}${decision.reason ? `: ${decision.reason}` : ""}`;
        if (step.optional) {
          yield* publish({ type: "workflow.step.skipped", ...base(address), run, step: step.id, reason });
          return finish(step, { id: step.id, status: "skipped", output, attempts: 1, reason });
        }
        outcomes.set(step.id, { id: step.id, status: "failed", output, attempts: 1, reason });
        yield* publish({ type: "workflow.step.failed", ...base(address), run, step: step.id, reason });
        return yield* new StepFailed({ step: step.id, reason });
      });

    /** A step whose dependencies are done: skipped by its condition, a person's wait, or an ask. */
    const ready = (step: StepSpec): Ready<StepFailed> => {
      if (step.when !== undefined && !holds(step.when, outputs.get(step.when.step) ?? "")) {
        const reason = `condition on ${step.when.step} did not hold`;
        finish(step, { id: step.id, status: "skipped", output: "", attempts: 0, reason });
        const skipped = publish({
          type: "workflow.step.skipped",
          ...base(addressOf(step.agent)),
          run,
          step: step.id,
          reason,
        });
        return { run: skipped, permit: false };
      }
      // A person's wait holds no permit: the agents' steps go on meanwhile.
      if (step.approval !== undefined) return { run: approveStep(step, step.approval.prompt), permit: false };
      const plain =
        (step.retry?.max ?? 0) === 0 &&
        !step.plan &&
        step.timeoutMs === undefined &&
        options.runId === undefined &&
        !tracingActive();
      return plain ? plainAsk(step) : { run: attemptStep(step), permit: true };
    };

    return Effect.gen(function* () {
      yield* publish({ type: "workflow.started", ...base(root.address), run, steps: workflow.steps.length });
      const exit = yield* Effect.exit(
        runDag(workflow.steps, workflow.concurrency ?? defaultConcurrency, ready),
      );
      const steps = workflow.steps.map(
        (s) => outcomes.get(s.id) ?? { id: s.id, status: "cancelled" as const, output: "", attempts: 0 },
      );
      if (Exit.isFailure(exit)) {
        const failure = Cause.failureOption(exit.cause);
        if (failure._tag === "None") return yield* Effect.failCause(exit.cause as Cause.Cause<never>);
        const { step, reason } = failure.value;
        yield* publish({ type: "workflow.failed", ...base(root.address), run, step, reason });
        return {
          run,
          status: "failed",
          output: "",
          steps,
          usage,
          reason: `step ${step} ${reason}`,
        } satisfies WorkflowResult;
      }
      const last = workflow.steps[workflow.steps.length - 1]!.id;
      const output = render(workflow.output ?? `{{steps.${last}.output}}`, input, outputs);
      yield* publish({ type: "workflow.completed", ...base(root.address), run, output });
      return { run, status: "completed", output, steps, usage } satisfies WorkflowResult;
    });
  });

/**
 * A workflow as the task of `runTree` (`arbor run`, `createArbor().run`): the workflow's output as
 * the answer, or a failure naming the step that failed and why.
 */
export const workflowTask = (system: AgentSystemService, treeId: string, input: string) =>
  runWorkflow(system, treeId, input).pipe(
    Effect.mapError((error) => ({ message: error.message })),
    Effect.flatMap((result) =>
      result.status === "completed"
        ? Effect.succeed({ output: result.output, usage: result.usage })
        : Effect.fail({ message: `workflow failed: ${result.reason ?? "a step failed"}` }),
    ),
  );
