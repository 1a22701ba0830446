/**
 * Document frequencies of full-text lexemes, kept beside the rows (`arbor_terms`): BM25's idf reads
 * one row per query term instead of counting the matching rows of the table at every search (which
 * visited every matching row: most of a keyword search's time).
 *
 * Kept exact in the writes' own transaction: rows' lexemes are counted in when written and out
 * (from their stored `tsvector`) before they are deleted or replaced.
 */
import { Effect } from "effect";
import type { StoreError } from "../errors.ts";
import type { SqlClientService } from "../sql-client.ts";
import type { LexemeVector } from "./lexemes.ts";

/** Which rows a count is about: chunks (passages) or whole documents. */
export type TermScope = "chunks" | "documents";

const TABLE: Record<TermScope, string> = { chunks: "arbor_chunks", documents: "arbor_documents" };

/**
 * Counts out the lexemes of the rows of `scope` in `tenant` that `where` selects (`r.` names a
 * row; its parameters are numbered from `$2`). Run it before deleting or replacing those rows.
 */
export const forgetTerms = (
  sql: SqlClientService,
  tenant: string,
  scope: TermScope,
  where: string,
  params: ReadonlyArray<unknown>,
): Effect.Effect<void, StoreError> =>
  Effect.asVoid(
    sql.query(
      `WITH gone AS (
         SELECT lexeme, count(*)::int AS n FROM ${TABLE[scope]} r, unnest(tsvector_to_array(r.tsv)) AS lexeme
          WHERE r.tenant = $1 AND ${where} GROUP BY lexeme)
       UPDATE arbor_terms t SET df = t.df - gone.n FROM gone
        WHERE t.tenant = $1 AND t.scope = '${scope}' AND t.lexeme = gone.lexeme`,
      [tenant, ...params],
    ),
  );

/** Counts in the lexemes of rows written to `scope` in `tenant`. */
export const countTerms = (
  sql: SqlClientService,
  tenant: string,
  scope: TermScope,
  vectors: Iterable<LexemeVector>,
): Effect.Effect<void, StoreError> => {
  const df = new Map<string, number>();
  for (const v of vectors) for (const lexeme of v.keys()) df.set(lexeme, (df.get(lexeme) ?? 0) + 1);
  if (df.size === 0) return Effect.void;
  // Known lexemes are updated in one join, new ones inserted (an upsert of every lexeme measured
  // about twice as slow, most of a load's words being known); a lexeme another writer inserts
  // meanwhile is counted in by the insert's conflict clause.
  return Effect.asVoid(
    sql.query(
      `WITH counted AS (SELECT l, n FROM unnest($3::text[], $4::int[]) AS x(l, n)),
            known AS (
              UPDATE arbor_terms t SET df = t.df + counted.n FROM counted
               WHERE t.tenant = $1 AND t.scope = $2 AND t.lexeme = counted.l RETURNING t.lexeme)
       INSERT INTO arbor_terms (tenant, scope, lexeme, df)
       SELECT $1, $2, l, n FROM counted WHERE NOT EXISTS (SELECT 1 FROM known WHERE known.lexeme = counted.l)
       ON CONFLICT (tenant, scope, lexeme) DO UPDATE SET df = arbor_terms.df + EXCLUDED.df`,
      [tenant, scope, [...df.keys()], [...df.values()]],
    ),
  );
};
