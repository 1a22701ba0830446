/**
 * What each framework's arm provides: for every throughput workload a prepared operation (one call
 * does some units of work and says how many), and for W5 a number of idle agents to hold.
 */

/** The workloads, by name. */
export const workloads = {
  "W1.seq": "one agent, one model call per ask, sequential",
  "W1.c16": "one agent, 16 concurrent askers",
  "W1.a16": "16 agents, one asker each",
  "W2.tool": "one tool round, then the answer",
  "W3.fanout": "coordinator → 8 workers in parallel → summary (9 model calls)",
  "W4.cheap100": "messages to 100 cheap workers, each answered, through the cheapest public path",
  "W5.idle": "heap per idle agent (lower is better)",
} as const;

/** A workload name. */
export type WorkloadName = keyof typeof workloads;

/** A prepared workload: `op` does one round and resolves with the units done. */
export interface Prepared {
  readonly op: () => Promise<number>;
  readonly close: () => Promise<void>;
}

/** One framework under test. */
export interface Arm {
  readonly prepare: (workload: Exclude<WorkloadName, "W5.idle">) => Promise<Prepared>;
  /** Makes `n` idle agents able to answer (with the fake model); returns something holding them. */
  readonly idle: (n: number) => Promise<{ readonly hold: unknown; readonly close: () => Promise<void> }>;
}
