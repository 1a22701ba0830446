/**
 * The tripwire port. Tripwires watch measurements (step wall time, tokens, tool calls, children,
 * depth, …) and return data; the runtime applies the action: `warn` (event only), `halt` (the agent
 * fails abnormally and its supervisor decides) or `stop-tree`.
 */
import { Data, type Effect } from "effect";
import type { AgentInfo } from "./agent-info.ts";
import type { Fault } from "./errors.ts";

export type TripwireAction = "warn" | "halt" | "stop-tree";

/** One measurement taken by the runtime during an agent step. */
export interface Measurement {
  readonly metric: string;
  readonly value: number;
  readonly agent: AgentInfo;
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
}
