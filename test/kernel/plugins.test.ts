import { Effect, Either, Queue } from "effect";
import { describe, expect, it } from "vitest";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import { PluginError, SpecInvalid } from "../../runtime/errors.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { definePlugin, type Plugin } from "../../runtime/plugin.ts";
import { makeTestSystem, run } from "./support.ts";

const log: string[] = [];
const tracked = (name: string, requires: string[] = []): Plugin =>
  definePlugin({
    name,
    version: "1.0.0",
    requires,
    setup: () =>
      Effect.acquireRelease(
        Effect.sync(() => log.push(`load ${name}`)),
        () => Effect.sync(() => log.push(`unload ${name}`)),
      ),
  });

const loadError = (plugins: Plugin[]) =>
  Effect.runPromise(Effect.scoped(Effect.flip(makeAgentSystem({ plugins }))));

describe("plugin host", () => {
  it("loads plugins in dependency order and unloads them in reverse", async () => {
    log.length = 0;
    await run(
      makeAgentSystem({ plugins: [tracked("a", ["b"]), tracked("b", ["c"]), tracked("c"), tracked("d")] }),
    );
    expect(log).toEqual([
      "load c",
      "load b",
      "load a",
      "load d",
      "unload d",
      "unload a",
      "unload b",
      "unload c",
    ]);
  });

  it("refuses a missing dependency, a cycle and a duplicate name, naming the plugin", async () => {
    expect(await loadError([tracked("a", ["ghost"])])).toMatchObject({
      reason: "missing_dependency",
      plugin: "a",
    });
    const cycle = await loadError([tracked("a", ["b"]), tracked("b", ["a"])]);
    expect(cycle).toBeInstanceOf(PluginError);
    expect(cycle.message).toMatch(/cycle: a → b → a/);
    expect(await loadError([tracked("a"), tracked("a")])).toMatchObject({ reason: "duplicate" });
    const twoTools = definePlugin({
      name: "tools",
      version: "1",
      setup: (host) =>
        Effect.zipRight(
          host.registerHandler("same", { initial: () => 0, handle: (s) => [s, ""] }),
          host.registerHandler("same", { initial: () => 0, handle: (s) => [s, ""] }),
        ),
    });
    expect((await loadError([twoTools])).message).toMatch(/a handler named "same" is already registered/);
  });

  it("a tree's own plugins serve only that tree and unload when it stops", async () => {
    const shout = definePlugin({
      name: "shout",
      version: "2.0.0",
      setup: (host) => host.registerHandler("shout", { initial: () => null, handle: (s, m) => [s, `${m}!`] }),
    });
    const spec = (name: string) => ({ name, root: { name: "m", kind: "micro", handler: "shout" } });
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        const own = yield* system.spawnTree(spec("own"), { plugins: [shout] });
        expect((yield* system.ask(own.root, "hey")).output).toBe("hey!");
        const other = yield* Effect.either(system.spawnTree(spec("other")));
        expect(Either.isLeft(other) && other.left).toBeInstanceOf(SpecInvalid);
        yield* system.stopTree(own.treeId);
        const pluginEvents = events.filter((e): e is Extract<ArborEvent, { plugin: string }> =>
          e.type.startsWith("plugin."),
        );
        expect(pluginEvents.map((e) => [e.type, e.plugin, e.tree])).toEqual([
          ["plugin.loaded", "shout", "own"],
          ["plugin.unloaded", "shout", "own"],
        ]);
      }),
    );
  });

  it("the event stream is an Effect PubSub subscription, with type, address, id, tree and time on every event", async () => {
    await run(
      Effect.gen(function* () {
        const { system } = yield* makeTestSystem();
        const queue = yield* system.events.subscribe;
        yield* system.spawnTree({ name: "s", root: { name: "m", kind: "micro", handler: "echo" } });
        const events = [yield* Queue.take(queue), yield* Queue.take(queue)];
        expect(events.map((e) => e.type)).toEqual(["tree.started", "agent.spawned"]);
        for (const e of events)
          expect(Object.keys(e)).toEqual(expect.arrayContaining(["type", "address", "id", "tree", "time"]));
      }),
    );
  });
});
