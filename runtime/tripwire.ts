/**
 * The tripwire port. Tripwires watch measurements (step wall time, tokens, tool calls, children,
 * depth, …) and return data; the runtime applies the action: `warn` (event only), `halt` (the agent
 * fails abnormally and its supervisor decides) or `stop-tree`.
 */
import { Data, type Effect } from "effect";
import type { AgentInfo } from "./agent-info.ts";
import type { Fault } from "./errors.ts";

export type TripwireAction = "warn" | "halt" | "stop-tree";

/**
 * One measurement taken by the runtime during an agent step. Metric names the built-in tripwires
 * understand: `stepMs`, `tokens` (used by this step), `costUsd` (spent by this step), `toolCalls`
 * (in this step), `children` (current count), `depth`, `spawn` (one per spawn), and `output`
 * (`value` is the length, `text` the reply, matched against output patterns).
 */
export interface Measurement {
  readonly metric: string;
  readonly value: number;
  readonly agent: AgentInfo;
  /** The text measured, for pattern tripwires (`output`). */
  readonly text?: string;
}

/** A tripwire fired with `halt` or `stop-tree`. The runtime turns `halt` into an abnormal exit. */
export class TripwireTripped extends Data.TaggedError("TripwireTripped")<{
  readonly reason: "tripwire";
  readonly tripwire: string;
  readonly action: "halt" | "stop-tree";
  readonly measurement: number;
  readonly threshold: number;
}> {
  readonly fault: Fault = "model";
  override get message(): string {
    return `tripwire ${this.tripwire} tripped: ${this.measurement} > ${this.threshold} (${this.action})`;
  }
}

/** What the agent step needs: report measurements; fails when a tripwire says halt or stop-tree. */
export interface TripwireMonitor {
  readonly observe: (measurement: Measurement) => Effect.Effect<void, TripwireTripped>;
  /**
   * The same measurement taken on the spot: undefined when it was taken and nothing tripped, else
   * the effect still to run (publishing what tripped, failing on `halt` / `stop-tree`). Optional;
   * `observeNow` below falls back to `observe`. Call it where the effect would run, never ahead of time.
   */
  readonly observeNow?: (measurement: Measurement) => Effect.Effect<void, TripwireTripped> | undefined;
  /**
   * Runs one agent step under the step-time tripwire (`maxStepMs`): a step that runs longer is
   * interrupted on Effect's Clock (so `TestClock` drives it) and `tripwire.triggered` is published;
   * with `warn` the step is allowed to finish, otherwise it fails with `TripwireTripped`.
   * A step that finishes in time also records `stepMs` for the anomaly detector.
   */
  readonly guardStep: <A, E, R>(
    agent: AgentInfo,
    step: Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E | TripwireTripped, R>;
}

/**
 * Reports `measurement` at once when the monitor can: undefined when nothing tripped, else the effect
 * still to run. The agent step's fast path: a measurement under every limit costs no effect.
 */
export const observeNow = (
  monitor: TripwireMonitor,
  measurement: Measurement,
): Effect.Effect<void, TripwireTripped> | undefined =>
  monitor.observeNow !== undefined ? monitor.observeNow(measurement) : monitor.observe(measurement);
