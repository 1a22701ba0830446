import { Effect, Either, Fiber, TestClock, TestContext } from "effect";
import { describe, expect, it } from "vitest";
import { forgetTree, makeTripwireMonitor, makeTripwireState } from "../../plugins/tripwires/monitor.ts";
import type { AgentInfo } from "../../runtime/agent-info.ts";
import { type ArborEvent, makeEventBus } from "../../runtime/events.ts";
import type { TripwireDefinition } from "../../runtime/plugin.ts";

const agent = (tripwires: unknown, address = "/t1/root"): AgentInfo => ({
  tree: "t",
  treeId: "t1",
  address,
  id: address,
  name: address.split("/").pop()!,
  kind: "parent",
  depth: 0,
  settings: { tripwires },
});

const run = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.provide(effect, TestContext.TestContext));

const setup = (definitions: ReadonlyArray<TripwireDefinition> = []) =>
  Effect.gen(function* () {
    const events = yield* makeEventBus(() => 0);
    const seen: ArborEvent[] = [];
    events.listen((e) => seen.push(e));
    return { monitor: makeTripwireMonitor({ events, definitions: () => definitions }), seen };
  });

describe("observeNow", () => {
  it("takes a measurement under every limit on the spot, and returns the effect when one trips", async () => {
    const out = await run(
      Effect.gen(function* () {
        const { monitor, seen } = yield* setup();
        const who = agent({ maxTokens: 100 });
        const under = monitor.observeNow?.({ metric: "tokens", value: 60, agent: who });
        const over = monitor.observeNow?.({ metric: "tokens", value: 60, agent: who });
        const result = over === undefined ? undefined : yield* Effect.either(over);
        return { under, over, result, seen };
      }),
    );
    expect(out.under).toBeUndefined();
    expect(out.over).toBeDefined();
    expect(out.result && Either.isLeft(out.result) && out.result.left).toMatchObject({
      _tag: "TripwireTripped",
      tripwire: "maxTokens",
      measurement: 120,
      threshold: 100,
    });
    expect(out.seen).toMatchObject([{ type: "tripwire.triggered", tripwire: "maxTokens" }]);
  });
});

describe("step-time tripwire (guardStep)", () => {
  it("interrupts a step slower than maxStepMs and fails with halt", async () => {
    const out = await run(
      Effect.gen(function* () {
        const { monitor, seen } = yield* setup();
        let interrupted = false;
        const slow = Effect.sleep("5 seconds").pipe(
          Effect.as("done"),
          Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))),
        );
        const fiber = yield* Effect.fork(Effect.either(monitor.guardStep(agent({ maxStepMs: 1000 }), slow)));
        yield* TestClock.adjust("1 second");
        const result = yield* Fiber.join(fiber);
        return { result, seen, interrupted };
      }),
    );
    expect(out.interrupted).toBe(true);
    expect(Either.isLeft(out.result) && out.result.left).toMatchObject({
      _tag: "TripwireTripped",
      tripwire: "maxStepMs",
      action: "halt",
      measurement: 1000,
      threshold: 1000,
    });
    expect(out.seen).toMatchObject([{ type: "tripwire.triggered", tripwire: "maxStepMs", action: "halt" }]);
  });

  it("lets a slow step finish with warn, publishing the warning", async () => {
    const out = await run(
      Effect.gen(function* () {
        const { monitor, seen } = yield* setup();
        const slow = Effect.sleep("2 seconds").pipe(Effect.as("done"));
        const spec = { maxStepMs: { limit: 1000, action: "warn" } };
        const fiber = yield* Effect.fork(monitor.guardStep(agent(spec), slow));
        yield* TestClock.adjust("2 seconds");
        return { result: yield* Fiber.join(fiber), seen };
      }),
    );
    expect(out.result).toBe("done");
    expect(out.seen).toMatchObject([{ type: "tripwire.triggered", action: "warn", measurement: 1000 }]);
  });

  it("does nothing to a step that finishes in time, and passes its failures through", async () => {
    const out = await run(
      Effect.gen(function* () {
        const { monitor, seen } = yield* setup();
        const ok = yield* monitor.guardStep(agent({ maxStepMs: 1000 }), Effect.succeed(1));
        const failed = yield* Effect.either(
          monitor.guardStep(agent({ maxStepMs: 1000 }), Effect.fail("boom")),
        );
        return { ok, failed, seen };
      }),
    );
    expect(out.ok).toBe(1);
    expect(Either.isLeft(out.failed) && out.failed.left).toBe("boom");
    expect(out.seen).toEqual([]);
  });
});

describe("measurement tripwires", () => {
  it("sums tokens per agent and per tree", async () => {
    const out = await run(
      Effect.gen(function* () {
        const { monitor, seen } = yield* setup();
        const a = agent({ maxTokens: 100, maxTreeTokens: { limit: 150, action: "stop-tree" } }, "/t1/a");
        const b = agent({ maxTokens: 100, maxTreeTokens: { limit: 150, action: "stop-tree" } }, "/t1/b");
        const first = yield* Effect.either(monitor.observe({ metric: "tokens", value: 60, agent: a }));
        const second = yield* Effect.either(monitor.observe({ metric: "tokens", value: 60, agent: b }));
        const third = yield* Effect.either(monitor.observe({ metric: "tokens", value: 50, agent: a }));
        return { first, second, third, seen };
      }),
    );
    expect(Either.isRight(out.first) && Either.isRight(out.second)).toBe(true);
    expect(Either.isLeft(out.third) && out.third.left).toMatchObject({
      tripwire: "maxTreeTokens",
      action: "stop-tree",
    });
    expect(out.seen.map((e) => (e as { tripwire?: string }).tripwire)).toEqual([
      "maxTokens",
      "maxTreeTokens",
    ]);
    expect(out.seen[0]).toMatchObject({ measurement: 110, threshold: 100 });
  });

  it("counts spawns per minute on the Clock", async () => {
    const out = await run(
      Effect.gen(function* () {
        const { monitor } = yield* setup();
        const a = agent({ maxSpawnsPerMinute: 2 });
        const spawn = Effect.either(monitor.observe({ metric: "spawn", value: 1, agent: a }));
        const results = [yield* spawn, yield* spawn, yield* spawn];
        yield* TestClock.adjust("61 seconds");
        results.push(yield* spawn);
        return results.map(Either.isRight);
      }),
    );
    expect(out).toEqual([true, true, false, true]);
  });

  it("checks tool calls, children, depth and output patterns", async () => {
    const out = await run(
      Effect.gen(function* () {
        const { monitor } = yield* setup();
        const a = agent({
          maxToolCalls: 3,
          maxChildren: 2,
          maxDepth: 1,
          outputPatterns: ["BEGIN PRIVATE KEY"],
        });
        const check = (metric: string, value: number, text?: string) =>
          Effect.map(
            Effect.either(monitor.observe({ metric, value, agent: a, ...(text ? { text } : {}) })),
            Either.isRight,
          );
        return [
          yield* check("toolCalls", 3),
          yield* check("toolCalls", 4),
          yield* check("children", 3),
          yield* check("depth", 2),
          yield* check("output", 10, "hello"),
          yield* check("output", 30, "-----BEGIN PRIVATE KEY-----"),
        ];
      }),
    );
    expect(out).toEqual([true, false, false, false, true, false]);
  });

  it("flags a measurement far from its recent history (z-score)", async () => {
    const out = await run(
      Effect.gen(function* () {
        const { monitor, seen } = yield* setup();
        const a = agent({ anomaly: [{ metric: "tokens", zScore: 3, minSamples: 5 }] });
        for (const value of [100, 110, 90, 105, 95, 100, 102])
          yield* monitor.observe({ metric: "tokens", value, agent: a });
        const quiet = seen.length;
        yield* monitor.observe({ metric: "tokens", value: 1000, agent: a });
        return { quiet, seen };
      }),
    );
    expect(out.quiet).toBe(0);
    expect(out.seen).toMatchObject([
      { type: "tripwire.triggered", tripwire: "anomaly.tokens", action: "warn", measurement: 1000 },
    ]);
  });

  it("applies tripwires registered by plugins to every agent", async () => {
    const out = await run(
      Effect.gen(function* () {
        const { monitor } = yield* setup([
          { name: "toolStorm", metric: "toolCalls", threshold: 5, action: "halt" },
        ]);
        return yield* Effect.either(
          monitor.observe({ metric: "toolCalls", value: 6, agent: agent(undefined) }),
        );
      }),
    );
    expect(Either.isLeft(out) && out.left.tripwire).toBe("toolStorm");
  });

  it("forgets a stopped tree's totals", async () => {
    const out = await run(
      Effect.gen(function* () {
        const events = yield* makeEventBus(() => 0);
        const state = makeTripwireState();
        const monitor = makeTripwireMonitor({ events, state });
        const a = agent({ maxTokens: 100 });
        yield* monitor.observe({ metric: "tokens", value: 60, agent: a });
        forgetTree(state, "t1");
        return yield* Effect.either(monitor.observe({ metric: "tokens", value: 60, agent: a }));
      }),
    );
    expect(Either.isRight(out)).toBe(true);
  });
});
