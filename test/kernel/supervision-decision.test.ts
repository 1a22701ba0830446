import { Effect, TestClock, TestContext } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../runtime/agent/backoff.ts";
import {
  type ChildView,
  decideExit,
  decideRestartDue,
  initialSupervisorState,
  type SupervisionPolicy,
  type SupervisorAction,
  type SupervisorState,
} from "../../runtime/agent/supervision-decision.ts";
import { count, makeTestSystem } from "./support.ts";

type Strategy = SupervisionPolicy["strategy"];
const policy = (strategy: Strategy, maxRestarts = 100, periodMs = 60_000): SupervisionPolicy => ({
  strategy,
  maxRestarts,
  periodMs,
  backoff: { minMs: 100, maxMs: 1000 },
});
const keys = ["a", "b", "c", "d"];

/**
 * A model of one supervisor's children driven only by the pure decision: it applies the actions
 * (halt, mark, start) to a status table, so sequences of crashes can be checked without a runtime.
 */
const simulate = (strategy: Strategy, maxRestarts = 100, periodMs = 60_000) => {
  const running = new Map(keys.map((k) => [k, true]));
  let state: SupervisorState = initialSupervisorState;
  const starts: string[][] = [];
  const halts: string[][] = [];
  const timers = new Map<number, number>(); // plan → due time
  let escalated = false;
  const view = (): ChildView[] =>
    keys.map((key) => ({ key, restart: "permanent", running: running.get(key)! }));
  const apply = (actions: ReadonlyArray<SupervisorAction>, now: number) => {
    const halted: string[] = [];
    const started: string[] = [];
    for (const action of actions) {
      if (action._tag === "Halt") {
        running.set(action.key, false);
        halted.push(action.key);
      } else if (action._tag === "ScheduleRestart") timers.set(action.plan, now + action.delayMs);
      else if (action._tag === "CancelRestart") timers.delete(action.plan);
      else if (action._tag === "Start") {
        running.set(action.key, true);
        started.push(action.key);
      } else if (action._tag === "Escalate") escalated = true;
    }
    if (halted.length > 0) halts.push(halted);
    if (started.length > 0) starts.push(started);
  };
  return {
    crash: (key: string, now: number, random01 = 0.5) => {
      if (!running.get(key) || escalated) return;
      running.set(key, false);
      const decision = decideExit(
        state,
        policy(strategy, maxRestarts, periodMs),
        view(),
        { key, reason: "boom", normal: false },
        now,
        random01,
      );
      state = decision.state;
      apply(decision.actions, now);
    },
    /** Fires every timer due by `now`, earliest first. */
    advance: (now: number) => {
      for (const [plan, due] of [...timers].sort((x, y) => x[1] - y[1])) {
        if (due > now || escalated) continue;
        timers.delete(plan);
        const decision = decideRestartDue(state, plan);
        state = decision.state;
        apply(decision.actions, due);
      }
    },
    running: () => keys.filter((k) => running.get(k)),
    starts,
    halts,
    escalated: () => escalated,
    pending: () => state.pending,
  };
};

describe("supervision decision (table)", () => {
  const cases: ReadonlyArray<{
    strategy: Strategy;
    crashes: ReadonlyArray<string>;
    halts: ReadonlyArray<ReadonlyArray<string>>;
    starts: ReadonlyArray<ReadonlyArray<string>>;
  }> = [
    { strategy: "one_for_one", crashes: ["b"], halts: [], starts: [["b"]] },
    { strategy: "one_for_one", crashes: ["c", "a"], halts: [], starts: [["c"], ["a"]] },
    { strategy: "one_for_all", crashes: ["b"], halts: [["d", "c", "a"]], starts: [keys] },
    { strategy: "one_for_all", crashes: ["b", "d"], halts: [["d", "c", "a"]], starts: [keys] },
    { strategy: "rest_for_one", crashes: ["b"], halts: [["d", "c"]], starts: [["b", "c", "d"]] },
    // The reproduced race: c crashes, then a while c's restart is pending.
    { strategy: "rest_for_one", crashes: ["c", "a"], halts: [["d"], ["b"]], starts: [keys] },
    { strategy: "rest_for_one", crashes: ["d", "b"], halts: [["c"]], starts: [["b", "c", "d"]] },
  ];
  for (const { strategy, crashes, halts, starts } of cases) {
    it(`${strategy}: crash ${crashes.join(" then ")} → stop ${JSON.stringify(halts)}, start ${JSON.stringify(starts)}`, () => {
      const sim = simulate(strategy);
      // The second crash comes 1 ms after the first, before any restart.
      for (const [i, key] of crashes.entries()) sim.crash(key, i);
      sim.advance(10_000);
      expect(sim.halts).toEqual(halts);
      expect(sim.starts).toEqual(starts);
      expect(sim.running()).toEqual(keys);
    });
  }

  it("a temporary child is stopped for good; a transient one only after a normal exit", () => {
    const children: ChildView[] = [
      { key: "t", restart: "temporary", running: false },
      { key: "r", restart: "transient", running: false },
    ];
    const exit = (key: string, normal: boolean) =>
      decideExit(initialSupervisorState, policy("one_for_one"), children, { key, reason: "x", normal }, 0, 0)
        .actions;
    expect(exit("t", false)).toEqual([{ _tag: "Stop", key: "t", reason: "x", normal: false, remove: true }]);
    expect(exit("r", true)).toEqual([{ _tag: "Stop", key: "r", reason: "x", normal: true, remove: false }]);
    expect(exit("r", false).map((a) => a._tag)).toEqual(["MarkRestarting", "ScheduleRestart"]);
  });

  it("escalates on the restart beyond maxRestarts within periodMs, cancelling what is pending", () => {
    const sim = simulate("one_for_one", 2, 1000);
    sim.crash("a", 0);
    sim.crash("b", 1);
    expect(sim.escalated()).toBe(false);
    sim.crash("c", 2);
    expect(sim.escalated()).toBe(true);
    expect(sim.pending()).toEqual([]);
  });
});

describe("supervision decision (properties)", () => {
  const step = fc.record({
    child: fc.constantFrom(...keys),
    waitMs: fc.integer({ min: 0, max: 1500 }),
    jitter: fc.double({ min: 0, max: 0.999, noNaN: true }),
  });
  const strategies = fc.constantFrom<Strategy>("one_for_one", "one_for_all", "rest_for_one");

  it("restarts always start in spec order, the down set keeps the strategy's shape, and all come back", () => {
    fc.assert(
      fc.property(strategies, fc.array(step, { maxLength: 30 }), (strategy, crashes) => {
        const sim = simulate(strategy);
        let now = 0;
        for (const { child, waitMs, jitter } of crashes) {
          sim.crash(child, now, jitter);
          now += waitMs;
          sim.advance(now);
          const up = sim.running();
          if (strategy === "one_for_all") expect(up.length === 0 || up.length === keys.length).toBe(true);
          if (strategy === "rest_for_one") expect(up).toEqual(keys.slice(0, up.length)); // down = a suffix
        }
        sim.advance(now + 10_000);
        for (const batch of sim.starts) expect(batch).toEqual(keys.filter((k) => batch.includes(k))); // spec order
        for (const batch of sim.halts)
          expect(batch).toEqual(
            keys.filter((k) => batch.includes(k)).reverse(), // reverse spec order
          );
        expect(sim.running()).toEqual(keys);
        expect(sim.pending()).toEqual([]);
      }),
    );
  });

  it("escalates exactly when more than maxRestarts restart decisions fall within periodMs", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 20 }),
        (maxRestarts, gaps) => {
          const periodMs = 1000;
          let state: SupervisorState = initialSupervisorState;
          const decided: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            const children: ChildView[] = [{ key: "a", restart: "permanent", running: false }];
            const decision = decideExit(
              state,
              policy("one_for_one", maxRestarts, periodMs),
              children,
              { key: "a", reason: "boom", normal: false },
              now,
              0.5,
            );
            const inWindow = decided.filter((t) => now - t < periodMs).length;
            const escalates = decision.actions.some((a) => a._tag === "Escalate");
            expect(escalates).toBe(inWindow >= maxRestarts);
            if (escalates) return;
            decided.push(now);
            state = decision.state;
          }
        },
      ),
    );
  });

  it("backoff stays within [max(min, ceiling/2), ceiling] of the attempt, ceiling = min(max, min·2ⁿ)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (attempt, minMs, extra, jitter) => {
          const maxMs = minMs + extra;
          const delay = backoffDelay(attempt, minMs, maxMs, jitter);
          const ceiling = Math.min(maxMs, minMs * 2 ** attempt);
          expect(delay).toBeLessThanOrEqual(ceiling);
          expect(delay).toBeGreaterThanOrEqual(Math.min(ceiling, Math.max(minMs, ceiling / 2)) - 0.5);
        },
      ),
    );
  });
});

describe("overlapping restarts in a running tree (TestClock)", () => {
  it("rest_for_one over a, b, c, d: kill c, then a while c's restart waits → a, b, c, d restart in spec order", async () => {
    const program = Effect.gen(function* () {
      const { system, events } = yield* makeTestSystem();
      yield* system.spawnTree({
        name: "race",
        root: {
          name: "sup",
          kind: "parent",
          model: { provider: "scripted", script: [{ text: "ok" }] },
          supervision: {
            strategy: "rest_for_one",
            maxRestarts: 10,
            periodMs: 60_000,
            backoff: { minMs: 100, maxMs: 1000 },
          },
          children: keys.map((name) => ({ name, kind: "micro", handler: "echo" })),
        },
      });
      yield* system.killAgent("/race/sup/c", "drill");
      yield* TestClock.adjust(50); // c's restart is still waiting out its backoff
      yield* system.killAgent("/race/sup/a", "drill");
      yield* TestClock.adjust(5_000);
      expect(count(events, "agent.restarted")).toBe(4);
      expect(events.filter((e) => e.type === "agent.restarted").map((e) => e.address)).toEqual(
        keys.map((k) => `/race/sup/${k}`),
      );
      for (const k of keys) expect((yield* system.ask(`/race/sup/${k}`, "hi")).output).toBe("hi");
    });
    await Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(TestContext.TestContext)));
  });
});
