/**
 * `arbor run <spec> --connect ws://…/rpc`: the same run as in process, driven over the wire —
 * spawn the tree on the server, give its root the task, stream progress, stop the tree, and print
 * the outcome (`--json`: every event as one line, then a `run.summary` line).
 */
import { parseArgs } from "node:util";
import { Effect, Either } from "effect";
import type { ArborEvent } from "../../runtime/events.ts";
import { loadSpecFile } from "../../runtime/spec/load.ts";
import { ArborClient } from "../client/client.ts";
import { RpcError } from "../client/errors.ts";
import { type Command, ExitCode } from "./command.ts";
import { defaultUrl, describeClientError } from "./inspect.ts";
import { describeEvent } from "./live-view.ts";

/** How to drive a remote run. */
export interface RemoteRunOptions {
  readonly url: string;
  readonly token?: string;
  /** The root's task; defaults to the spec's `root.input`. */
  readonly input?: string;
  readonly json?: boolean;
  readonly timeoutMs?: number;
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
    if (event.type === "agent.restarted") restarts += 1;
    if (event.type === "tree.stopped") treeStopped();
    if (options.json) process.stdout.write(`${JSON.stringify(event)}\n`);
    else {
      const line = describeEvent(event);
      if (line) process.stdout.write(`${line}\n`);
    }
  };
  try {
    await client.subscribe({}, onEvent);
    const handle = await client.spawn(spec);
    treeId = handle.treeId;
    for (const event of early.splice(0)) onEvent(event);
    say(options.json, `arbor run: spawned ${handle.treeId} on ${options.url}`);
    let summary: RemoteRunSummary;
    if (input === undefined) {
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
    await client.close();
  }
};

const usage = `Usage: arbor run <spec.json|spec.yaml> --connect <ws://host:port/rpc> [options]

Runs a tree on a remote server and gives its root a task.

Options:
  --connect <url>    the server's WebSocket endpoint
  --token <token>    bearer token (default: $ARBOR_TOKEN)
  --input <text>     the root's task (default: root.input from the spec)
  --json             one JSON event per line on stdout, ending with a run.summary line
  --timeout <ms>     give up waiting for the root's answer after this long`;

/** `arbor run --connect` as a command module (the lead's `run` may delegate to `runConnected` instead). */
export const connectCommand: Command = {
  name: "run --connect",
  summary: "run a tree on a remote server",
  usage,
  run: async (argv) => {
    const options = {
      connect: { type: "string" },
      token: { type: "string" },
      input: { type: "string" },
      json: { type: "boolean", default: false },
      timeout: { type: "string" },
    } as const;
    let parsed: ReturnType<
      typeof parseArgs<{ options: typeof options; strict: true; allowPositionals: true }>
    >;
    try {
      parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
    } catch (error) {
      process.stderr.write(`arbor run: ${(error as Error).message}\n\n${usage}\n`);
      return ExitCode.usage;
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) {
      process.stderr.write(`arbor run: expected one spec file, got ${positionals.length}\n\n${usage}\n`);
      return ExitCode.usage;
    }
    const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= 600_000)) {
      process.stderr.write("arbor run: --timeout takes a whole number of milliseconds from 1 to 600000\n");
      return ExitCode.usage;
    }
    return runConnected(positionals[0]!, {
      url: values.connect ?? defaultUrl(),
      ...(values.token !== undefined ? { token: values.token } : {}),
      ...(values.input !== undefined ? { input: values.input } : {}),
      json: values.json,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
  },
};
