/**
 * A Postgres/PGlite-backed implementation of the providers' usage ledger port
 * (`UsageLedgerService`, runtime/usage-ledger.ts): every provider call kept in `arbor_usage`, so
 * accounting survives restarts and is shared by every process on the same database.
 *
 * Gotcha: the port has no error channel. A failed write is counted (`failures()`) and dropped
 * rather than failing the provider call it records; a failed read is a defect.
 */
import { Effect, Layer } from "effect";
import {
  type UsageFilter,
  type UsageGroupBy,
  type UsageLedger,
  UsageLedgerService,
  type UsageRecord,
  type UsageTotals,
} from "../runtime/usage-ledger.ts";
import type { KnowledgeConfigError, StoreError } from "./errors.ts";
import { migrate } from "./migrations.ts";
import { SqlClient } from "./sql-client.ts";

interface UsageRow {
  readonly time: number;
  readonly tree: string;
  readonly tenant: string | null;
  readonly address: string;
  readonly agent_id: string;
  readonly operation: UsageRecord["operation"];
  readonly provider: string;
  readonly model: string;
  readonly key: string | null;
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cost_usd: number;
  readonly latency_ms: number;
  readonly outcome: UsageRecord["outcome"];
  readonly reason: string | null;
  readonly cached: boolean;
}

const toRecord = (r: UsageRow): UsageRecord => ({
  time: Number(r.time),
  tree: r.tree,
  ...(r.tenant === null ? {} : { tenant: r.tenant }),
  address: r.address,
  agentId: r.agent_id,
  operation: r.operation,
  provider: r.provider,
  model: r.model,
  ...(r.key === null ? {} : { key: r.key }),
  inputTokens: r.input_tokens,
  outputTokens: r.output_tokens,
  costUsd: Number(r.cost_usd),
  latencyMs: Number(r.latency_ms),
  outcome: r.outcome,
  ...(r.reason === null ? {} : { reason: r.reason }),
  cached: r.cached,
});

/** `WHERE` clause and parameters for a filter. */
const where = (filter: UsageFilter | undefined): { readonly clause: string; readonly params: unknown[] } => {
  const params: unknown[] = [];
  const parts: string[] = [];
  const add = (column: string, op: string, value: unknown) => {
    params.push(value);
    parts.push(`${column} ${op} $${params.length}`);
  };
  if (filter?.tree !== undefined) add("tree", "=", filter.tree);
  if (filter?.tenant !== undefined) add("tenant", "=", filter.tenant);
  if (filter?.provider !== undefined) add("provider", "=", filter.provider);
  if (filter?.since !== undefined) add("time", ">=", filter.since);
  if (filter?.cached !== undefined) add("cached", "=", filter.cached);
  return { clause: parts.length > 0 ? `WHERE ${parts.join(" AND ")}` : "", params };
};

/** The SQL expression of each grouping (never user text: `by` is checked against this table). */
const groupExpression: Readonly<Record<UsageGroupBy, string>> = {
  agent: "address",
  model: "CASE WHEN model = '' THEN provider ELSE provider || '/' || model END",
  provider: "provider",
  day: "to_char(to_timestamp(time / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
  tenant: "coalesce(tenant, '')",
  tree: "tree",
};

/** The SQL usage ledger, plus how many writes failed. */
export const makeSqlUsageLedger: Effect.Effect<
  UsageLedger & { readonly failures: () => number },
  StoreError | KnowledgeConfigError,
  SqlClient
> = Effect.gen(function* () {
  const sql = yield* SqlClient;
  yield* migrate({});
  let failures = 0;
  return {
    record: (e) =>
      sql
        .query(
          `INSERT INTO arbor_usage (time, tree, tenant, address, agent_id, operation, provider, model, key,
             input_tokens, output_tokens, cost_usd, latency_ms, outcome, reason, cached)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
          [
            e.time,
            e.tree,
            e.tenant ?? null,
            e.address,
            e.agentId,
            e.operation,
            e.provider,
            e.model,
            e.key ?? null,
            e.inputTokens,
            e.outputTokens,
            e.costUsd,
            e.latencyMs,
            e.outcome,
            e.reason ?? null,
            e.cached,
          ],
        )
        .pipe(
          Effect.asVoid,
          Effect.catchAll(() =>
            Effect.sync(() => {
              failures++;
            }),
          ),
        ),
    query: (filter) => {
      const w = where(filter);
      const text =
        filter?.limit !== undefined
          ? `SELECT * FROM (SELECT * FROM arbor_usage ${w.clause} ORDER BY time DESC, id DESC LIMIT ${Math.max(0, Math.floor(filter.limit))}) newest ORDER BY time, id`
          : `SELECT * FROM arbor_usage ${w.clause} ORDER BY time, id`;
      return sql.query<UsageRow>(text, w.params).pipe(
        Effect.map((rows) => rows.map(toRecord)),
        Effect.orDie,
      );
    },
    groups: (filter, by) => {
      const w = where(filter);
      const expression = groupExpression[by];
      return sql
        .query<{ key: string; calls: number; errors: number; input: number; output: number; cost: number }>(
          `SELECT ${expression} AS key, count(*)::int AS calls,
                  count(*) FILTER (WHERE outcome = 'error')::int AS errors,
                  coalesce(sum(input_tokens), 0)::float8 AS input, coalesce(sum(output_tokens), 0)::float8 AS output,
                  coalesce(sum(cost_usd), 0)::float8 AS cost
             FROM arbor_usage ${w.clause} GROUP BY 1 ORDER BY cost DESC, calls DESC, key`,
          w.params,
        )
        .pipe(
          Effect.map((rows) =>
            rows.map((t) => ({
              key: t.key,
              calls: t.calls,
              errors: t.errors,
              inputTokens: Number(t.input),
              outputTokens: Number(t.output),
              costUsd: Number(t.cost),
            })),
          ),
          Effect.orDie,
        );
    },
    totals: (filter) => {
      const w = where(filter);
      return sql
        .query<{ calls: number; errors: number; input: number; output: number; cost: number }>(
          `SELECT count(*)::int AS calls, count(*) FILTER (WHERE outcome = 'error')::int AS errors,
                  coalesce(sum(input_tokens), 0)::float8 AS input, coalesce(sum(output_tokens), 0)::float8 AS output,
                  coalesce(sum(cost_usd), 0)::float8 AS cost
             FROM arbor_usage ${w.clause}`,
          w.params,
        )
        .pipe(
          Effect.map(
            ([t]): UsageTotals => ({
              calls: t?.calls ?? 0,
              errors: t?.errors ?? 0,
              inputTokens: Number(t?.input ?? 0),
              outputTokens: Number(t?.output ?? 0),
              costUsd: Number(t?.cost ?? 0),
            }),
          ),
          Effect.orDie,
        );
    },
    failures: () => failures,
  };
});

/** The SQL usage ledger under the providers' `UsageLedgerService` tag. */
export const layerSqlUsageLedger: Layer.Layer<
  UsageLedgerService,
  StoreError | KnowledgeConfigError,
  SqlClient
> = Layer.effect(UsageLedgerService, makeSqlUsageLedger);
