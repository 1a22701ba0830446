/**
 * `createArbor`: the runtime for TypeScript users who do not use Effect — Promises in, Promises out.
 * Everything is the same runtime the CLI and the server use; `close()` stops every tree in order
 * and unloads the plugins.
 */
import { Effect, Exit, Scope } from "effect";
import { type ArborRuntime, makeAgentSystem } from "../runtime/agent-system.ts";
import type { ArborEvent } from "../runtime/events.ts";
import type { Plugin } from "../runtime/plugin.ts";
import { type RunOptions, type RunSummary, runTree } from "../runtime/run.ts";
import type { AgentNode, Reply, SpawnOptions, TreeHandle } from "../runtime/system.ts";
import { defaultPlugins } from "./preset.ts";

export interface ArborOptions {
  /** Extra runtime-level plugins, loaded after the defaults (scripted provider, built-in handlers). */
  readonly plugins?: ReadonlyArray<Plugin>;
  /** Configuration, as in `arbor.config.json`. */
  readonly config?: Readonly<Record<string, unknown>>;
}

/** The Promise face of the runtime. Failures reject with the runtime's typed errors (`_tag`, `reason`, `fault`). */
export interface Arbor {
  readonly spawn: (spec: unknown, options?: SpawnOptions) => Promise<TreeHandle>;
  readonly ask: (to: string, input: string, options?: { readonly timeoutMs?: number }) => Promise<Reply>;
  readonly send: (to: string, message: string) => Promise<void>;
  readonly inspect: (treeId: string) => Promise<AgentNode>;
  readonly stop: (treeId: string, reason?: string) => Promise<void>;
  readonly run: (spec: unknown, options?: RunOptions) => Promise<RunSummary>;
  /** Calls `listener` with every event, in order; returns the unsubscribe function. */
  readonly onEvent: (listener: (event: ArborEvent) => void) => () => void;
  /** The Effect runtime underneath, for everything else. */
  readonly runtime: ArborRuntime;
  readonly close: () => Promise<void>;
}

const promise = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromiseExit(effect).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value;
    const failure = exit.cause._tag === "Fail" ? exit.cause.error : new Error(String(exit.cause));
    throw failure;
  });

export const createArbor = async (options: ArborOptions = {}): Promise<Arbor> => {
  const scope = Effect.runSync(Scope.make());
  const config = options.config ?? {};
  const runtime = await promise(
    makeAgentSystem({ plugins: [...defaultPlugins(config), ...(options.plugins ?? [])], config }).pipe(
      Scope.extend(scope),
    ),
  );
  return {
    spawn: (spec, spawnOptions) => promise(runtime.spawnTree(spec, spawnOptions)),
    ask: (to, input, askOptions) => promise(runtime.ask(to, input, askOptions)),
    send: (to, message) => promise(runtime.send(to, message)),
    inspect: (treeId) => promise(runtime.inspect(treeId)),
    stop: (treeId, reason) => promise(runtime.stopTree(treeId, reason)),
    run: (spec, runOptions) => promise(runTree(runtime, spec, runOptions)),
    onEvent: (listener) => runtime.events.listen(listener),
    runtime,
    close: () => promise(Scope.close(scope, Exit.void)),
  };
};
