/**
 * The usage ledger port: every provider call recorded (time, tree, agent, provider, model, key
 * fingerprint, tokens, cost, latency, outcome, cache hit). In memory here; the knowledge area can
 * persist it in Postgres by providing another `UsageLedger` under the same tag.
 */
import { Context, Effect, Layer } from "effect";

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
}

/** The ledger as an Effect service. */
export class UsageLedgerService extends Context.Tag("arbor/UsageLedger")<UsageLedgerService, UsageLedger>() {}

const matches = (r: UsageRecord, f: UsageFilter | undefined) =>
  !f ||
  ((f.tree === undefined || r.tree === f.tree) &&
    (f.tenant === undefined || r.tenant === f.tenant) &&
    (f.provider === undefined || r.provider === f.provider) &&
    (f.since === undefined || r.time >= f.since));

/** Sums records. */
export const sumUsage = (records: ReadonlyArray<UsageRecord>): UsageTotals =>
  records.reduce(
    (t, r) => ({
      calls: t.calls + 1,
      errors: t.errors + (r.outcome === "error" ? 1 : 0),
      inputTokens: t.inputTokens + r.inputTokens,
      outputTokens: t.outputTokens + r.outputTokens,
      costUsd: t.costUsd + r.costUsd,
    }),
    { calls: 0, errors: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 },
  );

/**
 * An in-memory ledger keeping the newest `maxRecords` records (default 100 000).
 * Gotcha: totals are over what is kept; persist the ledger for accounting that must not forget.
 */
export const makeMemoryLedger = (options: { readonly maxRecords?: number } = {}): UsageLedger => {
  const max = options.maxRecords ?? 100_000;
  let records: Array<UsageRecord> = [];
  return {
    record: (entry) =>
      Effect.sync(() => {
        records.push(entry);
        if (records.length > max * 1.25) records = records.slice(records.length - max);
      }),
    query: (filter) => Effect.sync(() => records.slice(-max).filter((r) => matches(r, filter))),
    totals: (filter) => Effect.sync(() => sumUsage(records.slice(-max).filter((r) => matches(r, filter)))),
  };
};

/** The in-memory ledger as a layer. */
export const layerMemoryLedger = (options?: {
  readonly maxRecords?: number;
}): Layer.Layer<UsageLedgerService> => Layer.sync(UsageLedgerService, () => makeMemoryLedger(options));
