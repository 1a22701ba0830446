/**
 * The in-memory usage ledger (the port is `runtime/usage-ledger.ts`): every provider call recorded;
 * the knowledge area can persist it in Postgres by providing another `UsageLedger` under the same tag.
 */
import { Effect, Layer } from "effect";
import {
  type UsageFilter,
  type UsageGroup,
  type UsageGroupBy,
  type UsageLedger,
  UsageLedgerService,
  type UsageRecord,
  type UsageTotals,
} from "../../runtime/usage-ledger.ts";

export {
  type UsageFilter,
  type UsageGroup,
  type UsageGroupBy,
  type UsageLedger,
  UsageLedgerService,
  type UsageRecord,
  type UsageTotals,
};

/** The group a record falls in. */
export const groupKey = (r: UsageRecord, by: UsageGroupBy): string => {
  switch (by) {
    case "agent":
      return r.address;
    case "model":
      return r.model === "" ? r.provider : `${r.provider}/${r.model}`;
    case "provider":
      return r.provider;
    case "day":
      return new Date(r.time).toISOString().slice(0, 10);
    case "tenant":
      return r.tenant ?? "";
    case "tree":
      return r.tree;
  }
};

/** Groups records and sums each group, largest cost first (then most calls, then key). */
export const groupUsage = (
  records: ReadonlyArray<UsageRecord>,
  by: UsageGroupBy,
): ReadonlyArray<UsageGroup> => {
  const buckets = new Map<string, Array<UsageRecord>>();
  for (const r of records) {
    const key = groupKey(r, by);
    const list = buckets.get(key);
    if (list) list.push(r);
    else buckets.set(key, [r]);
  }
  return [...buckets]
    .map(([key, list]) => ({ key, ...sumUsage(list) }))
    .sort((a, b) => b.costUsd - a.costUsd || b.calls - a.calls || a.key.localeCompare(b.key));
};

const matches = (r: UsageRecord, f: UsageFilter | undefined) =>
  !f ||
  ((f.tree === undefined || r.tree === f.tree) &&
    (f.tenant === undefined || r.tenant === f.tenant) &&
    (f.provider === undefined || r.provider === f.provider) &&
    (f.since === undefined || r.time >= f.since) &&
    (f.cached === undefined || r.cached === f.cached));

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
    query: (filter) =>
      Effect.sync(() => {
        const found = records.slice(-max).filter((r) => matches(r, filter));
        return filter?.limit !== undefined ? found.slice(-filter.limit) : found;
      }),
    totals: (filter) => Effect.sync(() => sumUsage(records.slice(-max).filter((r) => matches(r, filter)))),
    groups: (filter, by) =>
      Effect.sync(() =>
        groupUsage(
          records.slice(-max).filter((r) => matches(r, filter)),
          by,
        ),
      ),
  };
};

/** The in-memory ledger as a layer. */
export const layerMemoryLedger = (options?: {
  readonly maxRecords?: number;
}): Layer.Layer<UsageLedgerService> => Layer.sync(UsageLedgerService, () => makeMemoryLedger(options));
