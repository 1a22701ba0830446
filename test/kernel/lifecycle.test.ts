import { Effect, Fiber, TestClock, TestContext } from "effect";
import { describe, expect, it } from "vitest";
import type { AgentCell } from "../../runtime/agent/cell.ts";
import { count, makeTestSystem, run, waitFor } from "./support.ts";

const settle = Effect.promise(() => new Promise((resolve) => setImmediate(resolve)));
const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("start and stop order", () => {
  it("starts children in spec order and stops them in reverse, subtree before its parent", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        const handle = yield* system.spawnTree({
          name: "order",
          root: {
            name: "root",
            kind: "parent",
            model: { provider: "scripted", script: [{ text: "ok" }] },
            children: [
              {
                name: "a",
                kind: "child",
                children: [
                  { name: "a1", kind: "micro", handler: "echo" },
                  { name: "a2", kind: "micro", handler: "echo" },
                ],
              },
              { name: "b", kind: "micro", handler: "echo" },
            ],
          },
        });
        const spawned = events.filter((e) => e.type === "agent.spawned").map((e) => e.address);
        expect(spawned).toEqual([
          "/order/root",
          "/order/root/a",
          "/order/root/a/a1",
          "/order/root/a/a2",
          "/order/root/b",
        ]);
        yield* system.stopTree(handle.treeId, "done");
        const stopped = events.filter((e) => e.type === "agent.stopped").map((e) => e.address);
        expect(stopped).toEqual([
          "/order/root/b",
          "/order/root/a/a2",
          "/order/root/a/a1",
          "/order/root/a",
          "/order/root",
        ]);
        expect(events.at(-1)).toMatchObject({ type: "tree.stopped", status: "stopped", reason: "done" });
      }),
    );
  });

  it("stopping one agent stops its subtree; its siblings keep running", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree({
          name: "sub",
          root: {
            name: "root",
            kind: "parent",
            model: { provider: "scripted", script: [{ text: "ok" }] },
            children: [
              { name: "a", kind: "child", children: [{ name: "a1", kind: "micro", handler: "echo" }] },
              { name: "b", kind: "micro", handler: "echo" },
            ],
          },
        });
        yield* system.stopAgent("/sub/root/a", "not needed");
        expect(events.filter((e) => e.type === "agent.stopped").map((e) => e.address)).toEqual([
          "/sub/root/a/a1",
          "/sub/root/a",
        ]);
        expect(count(events, "agent.restarted")).toBe(0);
        expect((yield* system.inspect("sub")).children.map((c) => c.name)).toEqual(["b"]);
        expect((yield* system.ask("/sub/root/b", "still here")).output).toBe("still here");
      }),
    );
  });
});

describe("tree ids", () => {
  it("a second tree with the same name gets its own id, used in its addresses and by plugins", async () => {
    await run(
      Effect.gen(function* () {
        const { system } = yield* makeTestSystem();
        const spec = { name: "dup", root: { name: "lead", kind: "micro", handler: "echo" } };
        const first = yield* system.spawnTree(spec);
        const second = yield* system.spawnTree(spec);
        expect([first.treeId, second.treeId]).toEqual(["dup", "dup-2"]);
        expect(second.root).toBe("/dup-2/lead");
        const info = (system.router.resolve(second.root) as AgentCell).info;
        expect(info).toMatchObject({ tree: "dup-2", treeId: "dup-2", treeName: "dup" });
        expect((yield* system.ask(second.root, "which?")).output).toBe("which?");
      }),
    );
  });
});

describe("no orphans", () => {
  it("after a tree stops: zero live actors, zero running fibers, no timers left behind", async () => {
    const before = timers();
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        const handle = yield* system.spawnTree({
          name: "busy",
          root: {
            name: "root",
            kind: "parent",
            model: { provider: "scripted", script: [{ delayMs: 60_000, text: "never" }] },
            children: [
              {
                name: "w1",
                kind: "child",
                model: { provider: "scripted", script: [{ delayMs: 60_000, text: "never" }] },
              },
              {
                name: "w2",
                kind: "micro",
                model: { provider: "scripted", script: [{ delayMs: 60_000, text: "never" }] },
              },
              { name: "m", kind: "micro", handler: "echo" },
            ],
          },
        });
        const tree = system.trees()[0]!;
        const asks = yield* Effect.forEach(
          ["/busy/root", "/busy/root/w1", "/busy/root/w2"],
          (to) => Effect.fork(system.ask(to, "work")),
          {
            concurrency: "unbounded",
          },
        );
        yield* waitFor(events, (es) => count(es, "agent.task") >= 3);
        expect(yield* tree.runningFibers()).toBeGreaterThan(0);
        expect(timers()).toBeGreaterThan(before);
        yield* system.stopTree(handle.treeId, "enough");
        expect(tree.cells().filter((c) => c.actorAlive)).toHaveLength(0);
        expect(yield* tree.runningFibers()).toBe(0);
        expect(system.trees()).toHaveLength(0);
        expect((yield* system.stats()).agentsLive).toBe(0);
        for (const ask of asks) expect((yield* Effect.flip(Fiber.join(ask)))._tag).toBe("AgentFailed");
        yield* settle;
        expect(timers()).toBe(before);
      }),
    );
  });
});

describe("backoff", () => {
  it("waits an exponential, jittered delay on Effect's clock before each restart", async () => {
    const program = Effect.gen(function* () {
      const { system, events } = yield* makeTestSystem();
      yield* system.spawnTree({
        name: "b",
        root: {
          name: "root",
          kind: "parent",
          model: { provider: "scripted", script: [{ text: "ok" }] },
          supervision: { maxRestarts: 10, periodMs: 60_000, backoff: { minMs: 100, maxMs: 1000 } },
          children: [{ name: "w", kind: "micro", handler: "echo" }],
        },
      });
      const crashAndMeasure = (floor: number) =>
        Effect.gen(function* () {
          const restartsBefore = count(events, "agent.restarted");
          yield* system.killAgent("/b/root/w", "drill");
          yield* settle;
          const failedAt = events.filter((e) => e.type === "agent.failed").at(-1)!.time;
          // Not restarted before the floor of the jitter window…
          yield* TestClock.adjust(floor - 1);
          yield* settle;
          expect(count(events, "agent.restarted")).toBe(restartsBefore);
          let waited = floor - 1;
          while (count(events, "agent.restarted") === restartsBefore) {
            expect(waited).toBeLessThanOrEqual(1000);
            yield* TestClock.adjust(1);
            yield* settle;
            waited++;
          }
          const restarted = events.filter((e) => e.type === "agent.restarted").at(-1)!;
          expect(restarted.time - failedAt).toBe((restarted as { delayMs: number }).delayMs);
          return (restarted as { delayMs: number }).delayMs;
        });
      const delays: number[] = [];
      for (const floor of [100, 100, 200, 400, 500]) delays.push(yield* crashAndMeasure(floor));
      return delays;
    });
    const delays = await Effect.runPromise(
      Effect.scoped(program).pipe(Effect.provide(TestContext.TestContext)),
    );
    // attempt n waits between max(min, ceiling/2) and ceiling = min(max, min·2ⁿ)
    expect(delays[0]).toBe(100);
    expect(delays[1]).toBeGreaterThanOrEqual(100);
    expect(delays[1]).toBeLessThanOrEqual(200);
    expect(delays[2]).toBeGreaterThanOrEqual(200);
    expect(delays[2]).toBeLessThanOrEqual(400);
    expect(delays[3]).toBeGreaterThanOrEqual(400);
    expect(delays[3]).toBeLessThanOrEqual(800);
    expect(delays[4]).toBeGreaterThanOrEqual(500);
    expect(delays[4]).toBeLessThanOrEqual(1000);
  });

  it("forgets restarts older than periodMs, so a slow trickle of crashes never escalates", async () => {
    const program = Effect.gen(function* () {
      const { system, events } = yield* makeTestSystem();
      yield* system.spawnTree({
        name: "p",
        root: {
          name: "root",
          kind: "parent",
          model: { provider: "scripted", script: [{ text: "ok" }] },
          supervision: { maxRestarts: 1, periodMs: 1000, backoff: { minMs: 0, maxMs: 0 } },
          children: [{ name: "w", kind: "micro", handler: "echo" }],
        },
      });
      for (let i = 0; i < 4; i++) {
        yield* system.killAgent("/p/root/w", "drill");
        yield* settle;
        yield* TestClock.adjust(1001);
        yield* settle;
      }
      return events;
    });
    const events = await Effect.runPromise(
      Effect.scoped(program).pipe(Effect.provide(TestContext.TestContext)),
    );
    expect(count(events, "agent.restarted", "/p/root/w")).toBe(4);
    expect(count(events, "agent.escalated")).toBe(0);
  });
});
