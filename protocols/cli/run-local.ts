/**
 * The in-process half of `arbor run` (run.ts reads the flags): opens memory when asked, starts the
 * runtime with the default plugins, prints events (a live view on a terminal, plain lines off one,
 * JSON with --json), runs the spec's root task or workflow, and prints the summary.
 */

import { Cause, Effect, Exit } from "effect";
import { workflowTask } from "../../agents/workflow/run.ts";
import { type ArborRuntime, makeAgentSystem } from "../../runtime/agent-system.ts";
import { loadConfig } from "../../runtime/config.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { runTree } from "../../runtime/run.ts";
import { loadSpecFile } from "../../runtime/spec/load.ts";
import { lateModelRouter, openMemory } from "../memory.ts";
import { defaultPlugins, describeModels } from "../preset.ts";
import { scopedTelemetry } from "../telemetry.ts";
import { type ApprovePolicy, makeApprover } from "./approve-prompt.ts";
import { ExitCode } from "./command.ts";
import { describeEvent, LiveView } from "./live-view.ts";
import { redrawOn } from "./terminal.ts";

/** What `arbor run` was asked to do in process, its flags read and checked. */
export interface LocalRunOptions {
  readonly input?: string;
  readonly config?: string;
  readonly timeoutMs?: number;
  readonly json: boolean;
  readonly memory: boolean;
  readonly approve: ApprovePolicy;
}

const fail = (message: string, code: number = ExitCode.usage): number => {
  process.stderr.write(`arbor run: ${message}\n`);
  return code;
};

/** Runs the spec at `specPath` in this process; resolves with the exit code. */
export const runLocal = async (specPath: string, options: LocalRunOptions): Promise<number> => {
  const { json, timeoutMs } = options;
  const tty = !json && redrawOn(process.stdout);

  const program = Effect.gen(function* () {
    // Traces go to a collector when OTEL_* says where (docs/observability.md).
    yield* scopedTelemetry;
    const spec = yield* loadSpecFile(specPath);
    const { file, config } = yield* loadConfig(options.config);
    // Memory opens before the runtime, whose router (key pools, fallbacks) it embeds through.
    let system: ArborRuntime | undefined;
    const embeddings = lateModelRouter(() => system?.models());
    const memory = options.memory ? yield* openMemory(config.knowledge, embeddings) : undefined;
    const plugins = [
      ...defaultPlugins(config, {
        ...(options.config !== undefined ? { configFile: options.config } : {}),
        ...(memory ? { ledger: memory.ledger, keyStore: memory.keyStore } : {}),
      }),
      ...(memory ? [memory.plugin] : []),
    ];
    system = yield* makeAgentSystem({ plugins, config });
    if (!json) {
      process.stderr.write(`arbor: ${yield* describeModels(plugins, file)}\n`);
      if (memory) process.stderr.write(`arbor: ${memory.description}; usage ledger in the same database\n`);
    }
    let view: LiveView | undefined;
    const approvals = system.approvals;
    const approver = makeApprover(options.approve, {
      input: process.stdin,
      output: process.stderr,
      decide: (id, decision) => Effect.runPromise(Effect.asVoid(approvals.decide(id, decision, "operator"))),
      pause: (paused) => view?.pause(paused),
    });
    yield* Effect.addFinalizer(() => Effect.sync(approver.close));
    system.events.listen((event: ArborEvent) => {
      if (json) process.stdout.write(`${JSON.stringify(event)}\n`);
      else if (view) view.event(event);
      else {
        const line = describeEvent(event);
        if (line) process.stdout.write(`${line}\n`);
      }
      // After the request is printed, so a decision made at once (--approve) prints after it.
      if (event.type === "approval.requested") approver.onRequested(event);
    });
    if (tty) {
      const started = Date.now();
      let seen: ReturnType<typeof system.trees>[number] | undefined;
      view = new LiveView(
        process.stdout,
        () => {
          // The tree leaves the runtime's list when it stops; keep it to draw its final state.
          seen ??= system.trees()[0];
          return seen?.inspect();
        },
        () => `arbor run ${specPath}  ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    const runtime = system;
    // A spec with a workflow runs its steps; otherwise the root gets the task.
    const hasWorkflow = typeof spec === "object" && spec !== null && "workflow" in spec;
    const summary = yield* runTree(system, spec, {
      ...(options.input !== undefined ? { input: options.input } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(hasWorkflow ? { task: (tree, input) => workflowTask(runtime, tree.treeId, input) } : {}),
      // The live view shows the root's answer growing.
      ...(tty ? { stream: true } : {}),
    });
    view?.finish();
    return summary;
  });

  const exit = await Effect.runPromiseExit(Effect.scoped(program));
  if (Exit.isFailure(exit)) {
    const failure = Cause.failureOption(exit.cause);
    if (failure._tag === "Some") {
      if (json)
        process.stdout.write(
          `${JSON.stringify({ type: "run.error", error: "_tag" in failure.value ? failure.value._tag : "Error", message: failure.value.message })}\n`,
        );
      return fail(failure.value.message, ExitCode.usage);
    }
    return fail(`internal error: ${Cause.pretty(exit.cause)}`, ExitCode.failed);
  }
  const summary = exit.value;
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      summary.status === "completed"
        ? `\n✓ completed in ${summary.durationMs} ms (${summary.restarts} restarts, ${summary.usage.inputTokens}+${summary.usage.outputTokens} tokens)\n\n${summary.output}\n`
        : `\n✗ ${summary.status}: ${summary.reason ?? "unknown reason"}\n`,
    );
  }
  return summary.status === "completed" ? ExitCode.ok : ExitCode.failed;
};
