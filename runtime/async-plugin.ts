/**
 * Plugins without Effect: a plain object whose `setup` is an async function. Its host has, besides
 * the Effect registrations of `PluginHost`, Promise ones (`tool`, `handler`, `provider`,
 * `guardrail`, `onEvent`); setup may return a cleanup function, run when the plugin unloads.
 * `toPlugin` turns either kind into the runtime's plugin: a setup returning an Effect runs as one.
 */
import { Effect, Scope } from "effect";
import { PluginError } from "./errors.ts";
import type { ArborEvent } from "./events.ts";
import type { Guardrail } from "./guardrail.ts";
import type { ModelProvider } from "./model.ts";
import type { MicroHandler, Plugin, PluginHost } from "./plugin.ts";
import type { ToolDefinition } from "./tool.ts";

/** The Promise registrations. Everything registered is removed when the plugin unloads. */
export interface AsyncPluginHost {
  readonly tool: (tool: ToolDefinition) => Promise<void>;
  readonly provider: (provider: ModelProvider) => Promise<void>;
  readonly guardrail: (guardrail: Guardrail) => Promise<void>;
  readonly handler: <S>(name: string, handler: MicroHandler<S>) => Promise<void>;
  /** Calls `listener` with every event, in order, until the plugin unloads. */
  readonly onEvent: (listener: (event: ArborEvent) => void) => void;
}

/** What a cleanup returned by an async setup may be. */
export type Cleanup = () => void | Promise<void>;

/** A plugin whose setup is an Effect (as `Plugin`) or an async function. */
export interface AnyPlugin {
  readonly name: string;
  readonly version: string;
  readonly requires?: ReadonlyArray<string>;
  readonly setup: (
    host: PluginHost & AsyncPluginHost,
    // biome-ignore lint/suspicious/noConfusingVoidType: an async setup returning nothing is Promise<void>
  ) => Effect.Effect<void, PluginError, Scope.Scope> | Promise<void | Cleanup>;
}

const failed = (name: string) => (error: unknown) =>
  new PluginError({
    reason: "setup_failed",
    plugin: name,
    detail: error instanceof Error ? error.message : String(error),
  });

/** The runtime plugin for an Effect or async one. */
export const toPlugin = (plugin: AnyPlugin): Plugin => ({
  name: plugin.name,
  version: plugin.version,
  ...(plugin.requires ? { requires: plugin.requires } : {}),
  setup: (host: PluginHost) =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope;
      const register = <E>(effect: Effect.Effect<void, E, Scope.Scope>) =>
        Effect.runPromise(Scope.extend(effect, scope));
      const unlisten: Array<() => void> = [];
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          for (const stop of unlisten) stop();
        }),
      );
      const result = plugin.setup({
        ...host,
        tool: (tool) => register(host.registerTool(tool)),
        provider: (provider) => register(host.registerProvider(provider)),
        guardrail: (guardrail) => register(host.registerGuardrail(guardrail)),
        handler: (name, handler) => register(host.registerHandler(name, handler)),
        onEvent: (listener) => {
          unlisten.push(host.events.listen(listener));
        },
      });
      if (Effect.isEffect(result)) return yield* result;
      const cleanup = yield* Effect.tryPromise({ try: () => result, catch: failed(plugin.name) });
      if (typeof cleanup === "function")
        yield* Effect.addFinalizer(() => Effect.tryPromise(async () => cleanup()).pipe(Effect.ignore));
    }),
});
