/**
 * Shared helpers for the kernel suites: a runtime with the scripted provider, the built-in handlers
 * and a few test handlers (registered through the real plugin API), an event recorder, and waits.
 */
import { Effect, type Scope } from "effect";
import { builtinHandlersPlugin } from "../../plugins/handlers/builtin.ts";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { type ArborRuntime, makeAgentSystem } from "../../runtime/agent-system.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { definePlugin, type Plugin } from "../../runtime/plugin.ts";

/** Test handlers: `crashy` throws on "crash"; `finisher` replies then exits normally. */
export const testHandlersPlugin = definePlugin({
  name: "test-handlers",
  version: "0.0.0",
  setup: (host) =>
    Effect.all(
      [
        host.registerHandler("crashy", {
          initial: () => null,
          handle: (s, m) => {
            if (m === "crash") throw new Error("asked to crash");
            return [s, `ok:${m}`] as const;
          },
        }),
        host.registerHandler("finisher", {
          initial: () => null,
          handle: (s, m) => [s, `done:${m}`, { exit: "finished its work" }] as const,
        }),
      ],
      { discard: true },
    ),
});

export const basePlugins: ReadonlyArray<Plugin> = [scriptedPlugin, builtinHandlersPlugin, testHandlersPlugin];

/** Builds a runtime in the current scope and records every event it publishes. */
export const makeTestSystem = (plugins: ReadonlyArray<Plugin> = []) =>
  Effect.gen(function* () {
    const system = yield* makeAgentSystem({ plugins: [...basePlugins, ...plugins] });
    const events: ArborEvent[] = [];
    system.events.listen((e) => events.push(e));
    return { system, events };
  });

/** Runs a scoped test program on the live clock. */
export const run = <A, E>(program: Effect.Effect<A, E, Scope.Scope>): Promise<A> =>
  Effect.runPromise(Effect.scoped(program));

/**
 * Waits (live clock) until `predicate` holds for the recorded events; fails after `ms`, listing
 * the events seen. The cap is generous: it must not trip on a machine whose cores are busy.
 */
export const waitFor = (
  events: ReadonlyArray<ArborEvent>,
  predicate: (events: ReadonlyArray<ArborEvent>) => boolean,
  ms = 30_000,
) =>
  Effect.promise(async () => {
    const deadline = Date.now() + ms;
    while (!predicate(events)) {
      if (Date.now() > deadline)
        throw new Error(
          `condition not met within ${ms} ms; events: ${events.map((e) => `${e.type}@${e.address}`).join(", ")}`,
        );
      await new Promise((r) => setTimeout(r, 2));
    }
  });

/** Types of the events for one address, in order. */
export const typesAt = (events: ReadonlyArray<ArborEvent>, address: string) =>
  events.filter((e) => e.address === address).map((e) => e.type);

export const count = (events: ReadonlyArray<ArborEvent>, type: ArborEvent["type"], address?: string) =>
  events.filter((e) => e.type === type && (address === undefined || e.address === address)).length;

/** The system's trees must hold nothing alive after they stop. */
export const orphans = (system: ArborRuntime) => system.trees().length;
