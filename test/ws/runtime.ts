/**
 * The real runtime for end-to-end tests: `makeAgentSystem` with the scripted provider and the
 * built-in micro handlers, guardrails and tripwires, and the WebSocket server on it, in one scope.
 */
import { Effect, Exit, Scope } from "effect";
import { guardrailsPlugin } from "../../plugins/guardrails/plugin.ts";
import { builtinHandlersPlugin } from "../../plugins/handlers/builtin.ts";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { tripwiresPlugin } from "../../plugins/tripwires/plugin.ts";
import type { ExtraMethods } from "../../protocols/ws/methods.ts";
import type { WsServerOptions } from "../../protocols/ws/options.ts";
import { type HttpRoute, makeWsServer } from "../../protocols/ws/server.ts";
import { type ArborRuntime, makeAgentSystem } from "../../runtime/agent-system.ts";
import type { Plugin } from "../../runtime/plugin.ts";
import { AgentSystem } from "../../runtime/system.ts";
import type { Running } from "./harness.ts";

/** A running runtime + server; `close` shuts the server down gracefully, then the runtime. */
export interface RunningRuntime extends Running {
  readonly runtime: ArborRuntime;
}

/** Starts the real runtime and a server on it (port 0, 127.0.0.1). */
export const startRuntimeServer = async (
  options: Partial<WsServerOptions> = {},
  extra: ExtraMethods = {},
  morePlugins: ReadonlyArray<Plugin> = [],
  /** Extra methods that need the runtime itself (e.g. `toolMethods`). */
  extraFor?: (runtime: ArborRuntime) => ExtraMethods,
  /** Extra HTTP routes (the inspector's assets). */
  routes: ReadonlyArray<HttpRoute> = [],
): Promise<RunningRuntime> => {
  const scope = Effect.runSync(Scope.make());
  const { runtime, server } = await Effect.runPromise(
    Effect.gen(function* () {
      const runtime = yield* makeAgentSystem({
        plugins: [scriptedPlugin, builtinHandlersPlugin, guardrailsPlugin, tripwiresPlugin, ...morePlugins],
      });
      const methods = { ...extra, ...(extraFor ? extraFor(runtime) : {}) };
      const server = yield* makeWsServer({ host: "127.0.0.1", port: 0, ...options }, methods, routes).pipe(
        Effect.provideService(AgentSystem, runtime),
      );
      return { runtime, server };
    }).pipe(Scope.extend(scope)),
  );
  return {
    runtime,
    system: runtime,
    server,
    url: server.url,
    httpUrl: `http://127.0.0.1:${server.port}`,
    // The server first (it answers or fails requests in flight and stops its trees), then the runtime.
    close: () => Effect.runPromise(Effect.zipRight(server.shutdown(), Scope.close(scope, Exit.void))),
  };
};

/** A small tree: a scripted parent with two micro children (echo, upper) and a scripted child. */
export const demoSpec = (name = "demo") => ({
  name,
  root: {
    name: "lead",
    kind: "parent",
    model: { provider: "scripted", script: [{ text: "lead heard: {{input}}" }] },
    children: [
      { name: "echo", kind: "micro", handler: "echo" },
      { name: "upper", kind: "micro", handler: "upper" },
      {
        name: "writer",
        kind: "child",
        model: { provider: "scripted", script: [{ text: "draft: {{input}}" }] },
      },
    ],
  },
});
