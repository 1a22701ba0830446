/**
 * The usage ledger port: every provider call recorded (time, tree, agent, provider, model, key
 * fingerprint, tokens, cost, latency, outcome, cache hit). The providers plugin keeps it in memory;
 * the knowledge area persists it in Postgres/PGlite under the same tag.
 */
import { Context, type Effect } from "effect";

/** One recorded call. `key` is a fingerprint, never a secret. */
export interface UsageRecord {
  readonly time: number;
  readonly tree: string;
  readonly tenant?: string;
  readonly address: string;
  readonly agentId: string;
  readonly operation: "chat" | "stream" | "embed";
  readonly provider: string;
  readonly model: string;
  readonly key?: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
  readonly latencyMs: number;
  readonly outcome: "ok" | "error";
  readonly reason?: string;
  readonly cached: boolean;
}

/** Which records to read. */
export interface UsageFilter {
  readonly tree?: string;
  readonly tenant?: string;
  readonly provider?: string;
  readonly since?: number;
  /** Only cache hits (`true`) or only real calls (`false`). */
  readonly cached?: boolean;
  /** `query` only: the newest `limit` records (still in time order). */
  readonly limit?: number;
}

/**
 * What usage can be grouped by. `agent` is the agent's address; `model` is `provider/model` (the
 * provider alone when it names no model, like `scripted`); `day` the UTC date (`YYYY-MM-DD`).
 */
export type UsageGroupBy = "agent" | "model" | "provider" | "day" | "tenant" | "tree";

/** The usage groups can be grouped by, for validation and help. */
export const USAGE_GROUP_BY: ReadonlyArray<UsageGroupBy> = [
  "agent",
  "model",
  "provider",
  "day",
  "tenant",
  "tree",
];

/** Totals of one group (`key` is `""` for records without a tenant when grouped by tenant). */
export interface UsageGroup extends UsageTotals {
  readonly key: string;
}

/** Sums over a set of records. */
export interface UsageTotals {
  readonly calls: number;
  readonly errors: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
}

/** The ledger port. */
export interface UsageLedger {
  readonly record: (entry: UsageRecord) => Effect.Effect<void>;
  readonly query: (filter?: UsageFilter) => Effect.Effect<ReadonlyArray<UsageRecord>>;
  readonly totals: (filter?: UsageFilter) => Effect.Effect<UsageTotals>;
  /** Totals per group, largest cost first. */
  readonly groups: (
    filter: UsageFilter | undefined,
    by: UsageGroupBy,
  ) => Effect.Effect<ReadonlyArray<UsageGroup>>;
}

/** The ledger as an Effect service. */
export class UsageLedgerService extends Context.Tag("arbor/UsageLedger")<UsageLedgerService, UsageLedger>() {}
