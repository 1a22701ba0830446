import { Effect, Either } from "effect";
import type { WorkflowResult } from "../../agents/workflow/run.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { loadSpecFile } from "../../runtime/spec/load.ts";
import { ArborClient } from "../client/client.ts";
import { RpcError } from "../client/errors.ts";
import { type ApprovePolicy, makeApprover } from "./approve-prompt.ts";
import { ExitCode } from "./command.ts";
import { describeClientError } from "./inspect.ts";
import { describeEvent } from "./live-view.ts";

/** How to drive a remote run. */
export interface RemoteRunOptions {
  readonly url: string;
  readonly token?: string;
  /** The root's task; defaults to the spec's `root.input`. */
  readonly input?: string;
  readonly json?: boolean;
  readonly timeoutMs?: number;
  /** How tool calls that need approval are decided (`ask` on a terminal; see approve-prompt.ts). */
  readonly approve?: ApprovePolicy;
}

/** The last line of `arbor run --connect … --json`, shaped like the in-process run's summary. */
export interface RemoteRunSummary {
  readonly type: "run.summary";
  readonly tree: string;
  readonly status: "completed" | "failed";
  readonly output: string | null;
  readonly reason?: string;
  readonly restarts: number;
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number };
  readonly durationMs: number;
  readonly server: string;
}

const say = (json: boolean | undefined, line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

/** Splits the root's own `input` off the spec: it is asked for explicitly so the result comes back. */
const withoutRootInput = (spec: unknown): { spec: unknown; input: string | undefined } => {
  const root = (spec as { root?: Record<string, unknown> } | null)?.root;
  if (typeof spec !== "object" || spec === null || typeof root !== "object" || root === null) {
    return { spec, input: undefined };
  }
  const { input, ...rest } = root;
  return { spec: { ...spec, root: rest }, input: typeof input === "string" ? input : undefined };
};

/**
 * Runs a spec file on a remote server; resolves with the exit code (0 completed, 1 failed,
 * 2 bad input). The lead's `arbor run` delegates here when `--connect` is given.
 */
export const runConnected = async (specFile: string, options: RemoteRunOptions): Promise<number> => {
  const loaded = await Effect.runPromise(Effect.either(loadSpecFile(specFile)));
  if (Either.isLeft(loaded)) {
    process.stderr.write(`arbor run: ${loaded.left.message}\n`);
    return ExitCode.usage;
  }
  const { spec, input: specInput } = withoutRootInput(loaded.right);
  const input = options.input ?? specInput;
  let client: ArborClient;
  try {
    client = await ArborClient.connect(options.url, options.token ? { token: options.token } : {});
  } catch (error) {
    process.stderr.write(`arbor run: ${describeClientError(error)}\n`);
    return ExitCode.failed;
  }
  const started = Date.now();
  let treeId: string | undefined;
  let restarts = 0;
  const early: Array<ArborEvent> = [];
  let treeStopped: () => void = () => {};
  const stoppedSeen = new Promise<void>((resolve) => {
    treeStopped = resolve;
  });
  const onEvent = (event: ArborEvent) => {
    if (treeId === undefined) {
      early.push(event);
      return;
    }
    if (event.tree !== treeId) return;
    if (event.type === "approval.requested") approver.onRequested(event);
    if (event.type === "agent.restarted") restarts += 1;
    if (event.type === "tree.stopped") treeStopped();
    if (options.json) process.stdout.write(`${JSON.stringify(event)}\n`);
    else {
      const line = describeEvent(event);
      if (line) process.stdout.write(`${line}\n`);
    }
  };
  const approver = makeApprover(options.approve ?? "ask", {
    input: process.stdin,
    output: process.stderr,
    decide: async (id, decision) => {
      await client!.decide(id, decision);
    },
  });
  try {
    await client.subscribe({}, onEvent);
    const handle = await client.spawn(spec);
    treeId = handle.treeId;
    for (const event of early.splice(0)) onEvent(event);
    say(options.json, `arbor run: spawned ${handle.treeId} on ${options.url}`);
    let summary: RemoteRunSummary;
    const hasWorkflow = typeof spec === "object" && spec !== null && "workflow" in spec;
    if (hasWorkflow) {
      // A spec with a workflow runs its steps on the server (workflow.run), like `arbor run` in process.
      const answer = await client.request("workflow.run", { treeId: handle.treeId, input: input ?? "" }).then(
        (result) => ({ ok: true as const, result: result as WorkflowResult }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      const completed = answer.ok && answer.result.status === "completed";
      summary = {
        type: "run.summary",
        tree: handle.treeId,
        status: completed ? "completed" : "failed",
        output: completed ? answer.result.output : null,
        ...(completed
          ? {}
          : {
              reason: answer.ok
                ? `workflow failed: ${answer.result.reason}`
                : describeClientError(answer.error),
            }),
        restarts,
        usage: answer.ok ? answer.result.usage : { inputTokens: 0, outputTokens: 0 },
        durationMs: Date.now() - started,
        server: options.url,
      };
    } else if (input === undefined) {
      summary = {
        type: "run.summary",
        tree: handle.treeId,
        status: "failed",
        output: null,
        reason: "no task: give the root one with --input or root.input in the spec",
        restarts,
        usage: { inputTokens: 0, outputTokens: 0 },
        durationMs: Date.now() - started,
        server: options.url,
      };
    } else {
      const answer = await client.ask(handle.root, input, options.timeoutMs).then(
        (reply) => ({ ok: true as const, reply }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      summary = {
        type: "run.summary",
        tree: handle.treeId,
        status: answer.ok ? "completed" : "failed",
        output: answer.ok ? answer.reply.output : null,
        ...(answer.ok ? {} : { reason: describeClientError(answer.error) }),
        restarts,
        usage: answer.ok ? answer.reply.usage : { inputTokens: 0, outputTokens: 0 },
        durationMs: Date.now() - started,
        server: options.url,
      };
    }
    await client.stopTree(
      handle.treeId,
      summary.status === "completed" ? "root completed its task" : "run failed",
    );
    // Events travel separately from answers: let the tree's last events arrive before the summary.
    await Promise.race([stoppedSeen, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(
        summary.status === "completed"
          ? `\n✓ completed in ${summary.durationMs} ms (${summary.restarts} restarts, ${summary.usage.inputTokens}+${summary.usage.outputTokens} tokens)\n\n${summary.output}\n`
          : `\n✗ failed: ${summary.reason}\n`,
      );
    }
    return summary.status === "completed" ? ExitCode.ok : ExitCode.failed;
  } catch (error) {
    if (options.json && error instanceof RpcError) {
      process.stdout.write(
        `${JSON.stringify({ type: "run.error", error: error.reason, code: error.code, message: error.message, data: error.data })}\n`,
      );
    }
    process.stderr.write(`arbor run: ${describeClientError(error)}\n`);
    return error instanceof RpcError && error.fault === "user" ? ExitCode.usage : ExitCode.failed;
  } finally {
    approver.close();
    await client.close();
  }
};
