/**
 * The tripwire monitor the agent step reports to. It keeps running totals per agent and per tree
 * (tokens, cost), a sliding window of spawns, and a z-score window per agent and metric; compares
 * each measurement with the agent's resolved `tripwires` settings and with tripwires registered by
 * plugins; publishes `tripwire.triggered` with the measurement and the threshold; and fails with
 * `TripwireTripped` when the action is `halt` or `stop-tree` (the runtime applies it).
 */
import { Clock, Duration, Effect, Fiber } from "effect";
import type { AgentInfo } from "../../runtime/agent-info.ts";
import type { EventBus } from "../../runtime/events.ts";
import type { TripwireDefinition } from "../../runtime/plugin.ts";
import { activeMs, currentStepClock, makeStepClock, whileStepPaused } from "../../runtime/step-clock.ts";
import {
  type Measurement,
  type TripwireAction,
  type TripwireMonitor,
  TripwireTripped,
} from "../../runtime/tripwire.ts";
import { type AnomalyWindow, makeAnomalyWindow } from "./anomaly.ts";
import { type LimitKey, readTripwireSettings, type TripwireSettings } from "./settings.ts";

/**
 * The running totals and windows a monitor keeps. Separate from the monitor so a monitor rebuilt
 * (the plugin host rebuilds runners when registrations change) keeps counting where it was.
 */
export interface TripwireState {
  readonly agentTotals: Map<string, Map<string, number>>;
  readonly treeTotals: Map<string, Map<string, number>>;
  readonly spawnTimes: Map<string, number[]>;
  readonly windows: Map<string, AnomalyWindow>;
}

/** Fresh, empty state. */
export const makeTripwireState = (): TripwireState => ({
  agentTotals: new Map(),
  treeTotals: new Map(),
  spawnTimes: new Map(),
  windows: new Map(),
});

/** Drops everything kept about one tree (call it when the tree has stopped). */
export const forgetTree = (state: TripwireState, treeId: string): void => {
  const prefix = `/${treeId}/`;
  state.treeTotals.delete(treeId);
  for (const map of [state.agentTotals, state.spawnTimes, state.windows] as ReadonlyArray<
    Map<string, unknown>
  >)
    for (const key of [...map.keys()]) if (key.startsWith(prefix)) map.delete(key);
};

/** What the monitor needs. */
export interface TripwireMonitorOptions {
  readonly events: EventBus;
  /** Tripwires registered through the plugin host; they apply to every agent. Read on every measurement. */
  readonly definitions?: () => ReadonlyArray<TripwireDefinition>;
  /** Shared state; a fresh one when absent. */
  readonly state?: TripwireState;
  /** The runtime config's `tripwires` level, for agents whose spec sets none. */
  readonly base?: TripwireSettings;
}

/** The tightest step-time limit that applies to an agent. */
interface StepLimit {
  readonly limit: number;
  readonly action: TripwireAction;
  readonly name: string;
}

/** One tripwire that fired. */
interface Trip {
  readonly tripwire: string;
  readonly measurement: number;
  readonly threshold: number;
  readonly action: TripwireAction;
  readonly reason: string;
}

const severity: Record<TripwireAction, number> = { warn: 0, halt: 1, "stop-tree": 2 };

/** Which limit each metric is compared with; `agent` / `tree` say which running total is compared. */
const limitsByMetric: Readonly<Record<string, ReadonlyArray<{ key: LimitKey; total?: "agent" | "tree" }>>> = {
  stepMs: [{ key: "maxStepMs" }],
  tokens: [
    { key: "maxTokens", total: "agent" },
    { key: "maxTreeTokens", total: "tree" },
  ],
  costUsd: [
    { key: "maxCostUsd", total: "agent" },
    { key: "maxTreeCostUsd", total: "tree" },
  ],
  toolCalls: [{ key: "maxToolCalls" }],
  children: [{ key: "maxChildren" }],
  depth: [{ key: "maxDepth" }],
  spawn: [{ key: "maxSpawnsPerMinute" }],
  output: [{ key: "maxOutputChars" }],
};

const cache = new WeakMap<object, TripwireSettings>();
const settingsFor = (agent: AgentInfo, base: TripwireSettings | undefined): TripwireSettings => {
  const raw = agent.settings.tripwires;
  if (typeof raw !== "object" || raw === null) return readTripwireSettings(raw, base);
  let settings = cache.get(raw);
  if (settings === undefined) {
    settings = readTripwireSettings(raw);
    cache.set(raw, settings);
  }
  return settings;
};

/**
 * Makes the monitor. Gotcha: `tokens` and `costUsd` measurements are *added up* (per agent and per
 * tree), so report what each model call used, not a running total.
 */
export const makeTripwireMonitor = (options: TripwireMonitorOptions): TripwireMonitor => {
  const { agentTotals, treeTotals, spawnTimes, windows } = options.state ?? makeTripwireState();
  const settingsOf = (agent: AgentInfo) => settingsFor(agent, options.base);

  const addTo = (totals: Map<string, Map<string, number>>, key: string, metric: string, value: number) => {
    let byMetric = totals.get(key);
    if (byMetric === undefined) {
      byMetric = new Map();
      totals.set(key, byMetric);
    }
    const total = (byMetric.get(metric) ?? 0) + value;
    byMetric.set(metric, total);
    return total;
  };

  /** The number a metric is compared with: a running total, a rate, or the value itself. */
  const quantity = (m: Measurement, now: number, total: "agent" | "tree" | undefined, totals: Totals) => {
    if (m.metric === "spawn") return spawnsLastMinute(m.agent.address, now);
    if (total === "agent") return totals.agent;
    if (total === "tree") return totals.tree;
    return m.value;
  };

  interface Totals {
    readonly agent: number;
    readonly tree: number;
  }

  const spawnsLastMinute = (address: string, now: number) =>
    (spawnTimes.get(address) ?? []).filter((t) => now - t < 60_000).length;

  const record = (m: Measurement, now: number): Totals => {
    const cumulative = m.metric === "tokens" || m.metric === "costUsd";
    const agent = cumulative ? addTo(agentTotals, m.agent.address, m.metric, m.value) : m.value;
    const tree = cumulative ? addTo(treeTotals, m.agent.treeId, m.metric, m.value) : m.value;
    if (m.metric === "spawn") {
      const times = (spawnTimes.get(m.agent.address) ?? []).filter((t) => now - t < 60_000);
      for (let i = 0; i < m.value; i++) times.push(now);
      spawnTimes.set(m.agent.address, times);
    }
    return { agent, tree };
  };

  const none: ReadonlyArray<Trip> = [];
  const evaluate = (m: Measurement, now: number, skipLimits: boolean): ReadonlyArray<Trip> => {
    const settings = settingsOf(m.agent);
    const totals = record(m, now);
    let trips: Trip[] | undefined;
    const push = (trip: Trip) => {
      trips ??= [];
      trips.push(trip);
    };
    if (!skipLimits) {
      for (const { key, total } of limitsByMetric[m.metric] ?? []) {
        const limit = settings.limits[key];
        if (limit === undefined) continue;
        const value = quantity(m, now, total, totals);
        if (value > limit.limit)
          push({
            tripwire: key,
            measurement: value,
            threshold: limit.limit,
            action: limit.action,
            reason: `${m.metric} ${value} is over ${key} ${limit.limit}`,
          });
      }
      for (const def of options.definitions?.() ?? []) {
        if (def.metric !== m.metric) continue;
        const value = quantity(m, now, limitsByMetric[m.metric]?.[0]?.total, totals);
        if (value > def.threshold)
          push({
            tripwire: def.name,
            measurement: value,
            threshold: def.threshold,
            action: def.action,
            reason: `${m.metric} ${value} is over ${def.name} ${def.threshold}`,
          });
      }
      if (m.metric === "output" && m.text !== undefined) {
        for (const { pattern, action } of settings.outputPatterns) {
          if (new RegExp(pattern, "i").test(m.text))
            push({
              tripwire: "outputPatterns",
              measurement: 1,
              threshold: 0,
              action,
              reason: `output matches the pattern /${pattern}/`,
            });
        }
      }
    }
    for (const detector of settings.anomaly) {
      if (detector.metric !== m.metric) continue;
      const key = `${m.agent.address}\u0000${m.metric}`;
      let window = windows.get(key);
      if (window === undefined) {
        window = makeAnomalyWindow(detector);
        windows.set(key, window);
      }
      const verdict = window.observe(m.value);
      if (verdict.anomalous)
        push({
          tripwire: `anomaly.${m.metric}`,
          measurement: m.value,
          threshold: verdict.mean + Math.sign(verdict.z) * detector.zScore * verdict.stdDev,
          action: detector.action,
          reason: `${m.metric} ${m.value} is ${Number.isFinite(verdict.z) ? Math.abs(verdict.z).toFixed(1) : "∞"} standard deviations from its recent mean ${verdict.mean.toFixed(1)}`,
        });
    }
    return trips ?? none;
  };

  const apply = (agent: AgentInfo, trips: ReadonlyArray<Trip>): Effect.Effect<void, TripwireTripped> =>
    Effect.gen(function* () {
      let worst: Trip | undefined;
      for (const trip of trips) {
        yield* options.events.publish({
          type: "tripwire.triggered",
          tree: agent.tree,
          address: agent.address,
          id: agent.id,
          ...trip,
        });
        if (trip.action !== "warn" && (worst === undefined || severity[trip.action] > severity[worst.action]))
          worst = trip;
      }
      if (worst === undefined || worst.action === "warn") return;
      return yield* new TripwireTripped({
        reason: "tripwire",
        tripwire: worst.tripwire,
        action: worst.action,
        measurement: worst.measurement,
        threshold: worst.threshold,
      });
    });

  /** Measured on every step: nothing but a clock read and a few map updates when nothing trips. */
  const observe = (m: Measurement, skipLimits = false) =>
    Effect.clockWith((clock) => {
      const trips = evaluate(m, clock.unsafeCurrentTimeMillis(), skipLimits);
      return trips.length === 0 ? Effect.void : apply(m.agent, trips);
    });

  /** The tightest step-time limit for an agent, by its settings and the registered tripwires. */
  const limits = new WeakMap<
    TripwireSettings,
    {
      readonly definitions: ReadonlyArray<TripwireDefinition> | undefined;
      readonly limit: StepLimit | undefined;
    }
  >();
  const stepLimit = (agent: AgentInfo): StepLimit | undefined => {
    const settings = settingsOf(agent);
    const definitions = options.definitions?.();
    const known = limits.get(settings);
    if (known !== undefined && known.definitions === definitions) return known.limit;
    const own = settings.limits.maxStepMs;
    const registered = (definitions ?? [])
      .filter((d) => d.metric === "stepMs")
      .map((d) => ({ limit: d.threshold, action: d.action, name: d.name }));
    const all = [...(own ? [{ ...own, name: "maxStepMs" }] : []), ...registered];
    const limit = all.sort((a, b) => a.limit - b.limit)[0];
    limits.set(settings, { definitions, limit });
    return limit;
  };

  /**
   * With no step-time limit and no anomaly detector on `stepMs`, nothing reads the step's clock: the
   * step runs as it is, with no timer, fiber or clock.
   */
  const guardStep = <A, E, R>(agent: AgentInfo, step: Effect.Effect<A, E, R>) => {
    const limit = stepLimit(agent);
    if (limit === undefined && !settingsOf(agent).anomaly.some((d) => d.metric === "stepMs")) return step;
    return Effect.gen(function* () {
      const clock = makeStepClock(yield* Clock.currentTimeMillis);
      // Sleeps until the step has *worked* `limit` ms: waits for a person (approvals) do not count.
      const overrun = Effect.gen(function* () {
        const threshold = limit?.limit ?? 0;
        for (;;) {
          yield* whileStepPaused(clock);
          const worked = activeMs(clock, yield* Clock.currentTimeMillis);
          if (worked >= threshold && clock.pauses === 0) break;
          if (clock.pauses === 0) yield* Effect.sleep(Duration.millis(threshold - worked));
        }
        const elapsed = activeMs(clock, yield* Clock.currentTimeMillis);
        const trip: Trip = {
          tripwire: limit?.name ?? "maxStepMs",
          measurement: elapsed,
          threshold,
          action: limit?.action ?? "warn",
          reason: `step still running after ${elapsed} ms of work (${limit?.name ?? "maxStepMs"} ${limit?.limit}; time waiting for approval excluded)`,
        };
        return yield* apply(agent, [trip]);
      });
      const timed = Effect.locally(step, currentStepClock, clock);
      let result: A;
      if (limit === undefined) result = yield* timed;
      else if (limit.action === "warn") {
        const watcher = yield* Effect.fork(overrun);
        result = yield* Effect.ensuring(timed, Fiber.interrupt(watcher));
      } else {
        result = yield* Effect.raceFirst(
          timed,
          Effect.flatMap(overrun, () => Effect.never),
        );
      }
      const elapsed = activeMs(clock, yield* Clock.currentTimeMillis);
      yield* observe({ metric: "stepMs", value: elapsed, agent }, true);
      return result;
    });
  };

  /**
   * The measurement taken at once. Only spawn rates read the clock, so those go through `observe`;
   * every other metric is a few map updates and comparisons, and an effect only when something trips.
   */
  const observeNow = (m: Measurement): Effect.Effect<void, TripwireTripped> | undefined => {
    if (m.metric === "spawn") return observe(m);
    const trips = evaluate(m, Number.NaN, false); // the time is read for spawn rates only
    return trips.length === 0 ? undefined : apply(m.agent, trips);
  };

  return { observe: (m) => observe(m), observeNow, guardStep };
};
