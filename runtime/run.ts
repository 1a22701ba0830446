/**
 * `runTree`: spawn a tree, give its root a task, wait for the answer, stop the tree, and report
 * what happened — the in-process core of `arbor run`, also handy from TypeScript.
 */
import { Effect, Either } from "effect";
import type { ArborRuntime } from "./agent-system.ts";
import type { ArborEvent } from "./events.ts";
import type { Usage } from "./model.ts";
import type { SpawnOptions, TreeHandle } from "./system.ts";

/** The last line of `arbor run --json`. */
export interface RunSummary {
  readonly type: "run.summary";
  readonly tree: string;
  readonly status: "completed" | "failed" | "stopped";
  readonly output: string | null;
  readonly reason?: string;
  readonly restarts: number;
  readonly liveAgents: number;
  readonly runningFibers: number;
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number };
  readonly durationMs: number;
}

export interface RunOptions extends SpawnOptions {
  /** The root's task; defaults to the spec's `root.input`. */
  readonly input?: string;
  /**
   * What to do with the running tree instead of asking its root (a workflow runs its steps); it
   * gets the tree and the input and answers like an ask.
   */
  readonly task?: (
    tree: TreeHandle,
    input: string,
  ) => Effect.Effect<{ readonly output: string; readonly usage?: Usage }, { readonly message: string }>;
  /** Gives up after this long (the tree is stopped, status `failed`). */
  readonly timeoutMs?: number;
  /** Ask the root with streaming (`agent.delta` events as it writes; the live view shows them). */
  readonly stream?: boolean;
}

const rootInputOf = (spec: unknown): string | undefined => {
  const root = (spec as { root?: { input?: unknown } } | null)?.root;
  return typeof root?.input === "string" ? root.input : undefined;
};

/** Runs a spec to completion. Fails only when the tree cannot start (invalid spec, plugin error). */
export const runTree = (system: ArborRuntime, spec: unknown, options: RunOptions = {}) =>
  Effect.gen(function* () {
    const input = options.input ?? rootInputOf(spec);
    // The root's task is asked for below, so it must not also start on its own.
    const withoutRootInput =
      typeof spec === "object" && spec !== null && typeof (spec as { root?: unknown }).root === "object"
        ? { ...spec, root: { ...(spec as { root: object }).root, input: undefined } }
        : spec;
    let restarts = 0;
    const stopListening = system.events.listen(
      (event: ArborEvent) => {
        if (event.type === "agent.restarted" && event.tree === treeId) restarts++;
      },
      { types: ["agent.restarted"] },
    );
    let treeId = "";
    const started = Date.now();
    const handle = yield* system
      .spawnTree(withoutRootInput, options)
      .pipe(Effect.tapError(() => Effect.sync(stopListening)));
    treeId = handle.treeId;
    const tree = system.trees().find((t) => t.treeId === treeId)!;
    const answer = options.task
      ? yield* Effect.either(options.task(handle, input ?? ""))
      : input === undefined
        ? Either.left({ message: "no task: give the root one with --input or root.input in the spec" })
        : yield* Effect.either(
            system.ask(handle.root, input, {
              ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
              ...(options.stream ? { stream: true } : {}),
            }),
          );
    const end = yield* tree.stop(
      Either.isRight(answer) ? "root completed its task" : answer.left.message,
      Either.isRight(answer) ? "completed" : "failed",
    );
    stopListening();
    const summary: RunSummary = {
      type: "run.summary",
      tree: treeId,
      status: end.status,
      output: Either.isRight(answer) ? answer.right.output : null,
      ...(Either.isLeft(answer) || end.status !== "completed"
        ? { reason: Either.isLeft(answer) ? answer.left.message : end.reason }
        : {}),
      restarts,
      liveAgents: tree.cells().filter((c) => c.actorAlive).length,
      runningFibers: yield* tree.runningFibers(),
      usage: (Either.isRight(answer) ? answer.right.usage : undefined) ?? { inputTokens: 0, outputTokens: 0 },
      durationMs: Date.now() - started,
    };
    return summary;
  });
