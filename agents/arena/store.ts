/**
 * Where arena results are kept: in memory (tests, a one-off `arbor arena run`), or in the knowledge
 * store's SQL database (`arbor_arena_results`), so standings build up across runs and restarts. Every
 * result belongs to a tenant; a tenant reads only its own.
 */
import { Effect } from "effect";
import type { StoreError } from "../../knowledge/errors.ts";
import type { SqlClientService } from "../../knowledge/sql-client.ts";
import type { ArenaResult } from "./suite.ts";

export interface ArenaStore {
  readonly record: (tenant: string, results: ReadonlyArray<ArenaResult>) => Effect.Effect<void, StoreError>;
  /** Results of `suite` (every suite when absent), oldest first. */
  readonly results: (tenant: string, suite?: string) => Effect.Effect<ReadonlyArray<ArenaResult>, StoreError>;
}

export const makeMemoryArenaStore = (): ArenaStore => {
  const kept: Array<ArenaResult & { readonly tenant: string }> = [];
  return {
    record: (tenant, results) => Effect.sync(() => void kept.push(...results.map((r) => ({ ...r, tenant })))),
    results: (tenant, suite) =>
      Effect.sync(() =>
        kept
          .filter((r) => r.tenant === tenant && (suite === undefined || r.suite === suite))
          .map(({ tenant: _t, ...r }) => r),
      ),
  };
};

interface Row {
  readonly suite: string;
  readonly run: string;
  readonly task: string;
  readonly contender: string;
  readonly model: string;
  readonly score: number;
  readonly output: string;
  readonly error: string | null;
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cost_usd: number;
  readonly latency_ms: number;
  readonly time: number;
}

const table = `CREATE TABLE IF NOT EXISTS arbor_arena_results (
  tenant text NOT NULL, suite text NOT NULL, run text NOT NULL, task text NOT NULL, contender text NOT NULL,
  model text NOT NULL, score double precision NOT NULL, output text NOT NULL, error text,
  input_tokens integer NOT NULL, output_tokens integer NOT NULL, cost_usd double precision NOT NULL,
  latency_ms double precision NOT NULL, time double precision NOT NULL,
  PRIMARY KEY (tenant, run, task, contender));
CREATE INDEX IF NOT EXISTS arbor_arena_results_suite ON arbor_arena_results (tenant, suite, time)`;

/** The SQL store; its table is created on first use (`IF NOT EXISTS`, so every process may try). */
export const makeSqlArenaStore = (sql: SqlClientService): ArenaStore => {
  // Runs the DDL once, on first use (building the cached effect does no I/O).
  const ready = Effect.runSync(Effect.cached(sql.exec(table)));
  return {
    record: (tenant, results) =>
      Effect.zipRight(
        ready,
        Effect.forEach(
          results,
          (r) =>
            sql.query(
              `INSERT INTO arbor_arena_results (tenant, suite, run, task, contender, model, score, output, error,
                 input_tokens, output_tokens, cost_usd, latency_ms, time)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT DO NOTHING`,
              [
                tenant,
                r.suite,
                r.run,
                r.task,
                r.contender,
                r.model,
                r.score,
                r.output,
                r.error ?? null,
                r.inputTokens,
                r.outputTokens,
                r.costUsd,
                r.latencyMs,
                r.time,
              ],
            ),
          { discard: true },
        ),
      ),
    results: (tenant, suite) =>
      Effect.zipRight(
        ready,
        Effect.map(
          sql.query<Row>(
            `SELECT * FROM arbor_arena_results WHERE tenant = $1 AND ($2::text IS NULL OR suite = $2) ORDER BY time, contender`,
            [tenant, suite ?? null],
          ),
          (rows) =>
            rows.map((r) => ({
              suite: r.suite,
              run: r.run,
              task: r.task,
              contender: r.contender,
              model: r.model,
              score: Number(r.score),
              output: r.output,
              ...(r.error === null ? {} : { error: r.error }),
              inputTokens: Number(r.input_tokens),
              outputTokens: Number(r.output_tokens),
              costUsd: Number(r.cost_usd),
              latencyMs: Number(r.latency_ms),
              time: Number(r.time),
            })),
        ),
      ),
  };
};
