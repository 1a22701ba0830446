/**
 * Okapi BM25 in SQL, over the `tsvector` columns Postgres (and PGlite) already keep with a GIN
 * index: the same statements on every store, no extension beyond core full-text search.
 *
 * - Terms are the query's lexemes made by the same `Lexer` as the stored ones (`lexemes.ts`: words
 *   split in JavaScript, stemmed by the `english` configuration, stop words out).
 * - `idf = ln(1 + (N - df + 0.5) / (df + 0.5))` with `df` read from the kept term statistics
 *   (`term-stats.ts`) and `N` the partition's rows; `tf` is the number of positions a lexeme has in a row's
 *   `tsvector`; length is the row's number of distinct lexemes (`length(tsv)`), normalised by the
 *   partition's mean.
 * - Only the query's lexemes of a row are unnested: `setweight(tsv, 'A', terms)` marks them and
 *   `ts_filter(…, '{a}')` keeps them (rows are stored with weight D), both in C; the sum is a
 *   join and a grouping (a correlated subquery per row measured seven times slower in PGlite).
 * - `"a phrase"` in the query must appear as a phrase, `prefix*` must match a word starting so;
 *   their words also count in the score.
 *
 * Gotcha: `tsvector` keeps at most 256 positions of one lexeme (tf saturates long before that) and
 * positions above 16,383 are clamped; document-level rows index at most `DOCUMENT_TEXT_LIMIT`.
 */
import { Effect } from "effect";
import type { StoreError } from "../errors.ts";
import type { SqlClientService } from "../sql-client.ts";
import { type Lexer, quoteLexeme } from "./lexemes.ts";

/** BM25's term-frequency saturation (`k1`) and length normalisation (`b`): the usual values. */
export const BM25 = { k1: 1.2, b: 0.75 } as const;

/** Characters of a document indexed for document-level keyword search (tsvector's 1 MB limit). */
export const DOCUMENT_TEXT_LIMIT = 400_000;

/** A keyword query split into its parts. */
export interface KeywordQuery {
  /** Every word, phrase words included: the scored terms come from these. */
  readonly words: string;
  readonly phrases: ReadonlyArray<string>;
  readonly prefixes: ReadonlyArray<string>;
}

/** Splits a query: `"quoted phrases"`, `prefix*` words, and the rest. */
export const parseKeywordQuery = (text: string): KeywordQuery => {
  const phrases: string[] = [];
  const rest = text.replace(/"([^"]*)"/g, (_, p: string) => {
    if (/[\p{L}\p{N}]/u.test(p)) phrases.push(p);
    return ` ${p} `;
  });
  const prefixes: string[] = [];
  const words = rest.replace(/([\p{L}\p{N}]+)\*/gu, (_, w: string) => {
    prefixes.push(w);
    return " ";
  });
  return { words: (words.match(/[\p{L}\p{N}]+/gu) ?? []).join(" "), phrases, prefixes };
};

/** Whether the query has anything to search for. */
export const hasTerms = (q: KeywordQuery): boolean =>
  q.words !== "" || q.prefixes.length > 0 || q.phrases.length > 0;

/** What BM25 needs of the whole partition: how many rows, and their mean length in lexemes. */
export interface CorpusStats {
  readonly rows: number;
  readonly meanLength: number;
}

/** Counts a partition's rows and their mean length (a scan of the table: cache the answer). */
export const corpusStats = (
  sql: SqlClientService,
  table: "arbor_chunks" | "arbor_documents",
  tenant: string,
): Effect.Effect<CorpusStats, StoreError> =>
  Effect.map(
    sql.query<{ n: number; mean: number | null }>(
      `SELECT count(*)::float8 AS n, avg(length(tsv))::float8 AS mean FROM ${table} WHERE tenant = $1 AND tsv IS NOT NULL`,
      [tenant],
    ),
    (r) => ({ rows: Number(r[0]?.n ?? 0), meanLength: Number(r[0]?.mean ?? 1) }),
  );

/** One scored row id. */
export interface Bm25Hit {
  readonly id: string;
  readonly documentId: string;
  readonly score: number;
}

/**
 * The BM25 top `k` rows of `table` in `tenant` that match the query; `extraWhere` (with its params
 * numbered after the ones this function adds) narrows the rows (a metadata filter, a set of
 * documents).
 */
export const bm25Search = (
  sql: SqlClientService,
  options: {
    readonly table: "arbor_chunks" | "arbor_documents";
    readonly tenant: string;
    readonly query: KeywordQuery;
    readonly k: number;
    /** Appended as `AND …`; `$n` placeholders count from `params.length + 1` of `extraParams`' start. */
    readonly extra?: (next: (value: unknown) => string) => string;
    /** At most this many best rows per document (passages of chosen documents). */
    readonly perDocument?: number;
    /** Makes the query's lexemes exactly as the stored ones were made. */
    readonly lexer: Lexer;
    /** The partition's rows and their mean length (`corpusStats`). */
    readonly stats: CorpusStats;
  },
): Effect.Effect<ReadonlyArray<Bm25Hit>, StoreError> =>
  Effect.gen(function* () {
    const { table, tenant, query, lexer } = options;
    yield* lexer.learn([query.words, ...query.phrases]);
    const lexemes = lexer.lexemes(query.words);
    const params: unknown[] = [];
    const next = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const tenantP = next(tenant);
    const required = [
      ...query.phrases.flatMap((p) => {
        const phrase = lexer.phrase(p);
        return phrase ? [`tsv @@ ${next(phrase)}::tsquery`] : [];
      }),
      ...query.prefixes.map((p) => `tsv @@ to_tsquery('english', ${next(`${quoteLexeme(p)}:*`)})`),
    ];
    const extra = options.extra ? ` AND ${options.extra(next)}` : "";
    const docColumn = table === "arbor_chunks" ? "document_id" : "id";
    const limit = next(Math.max(1, Math.floor(options.k)));
    if (lexemes.length === 0) {
      // Only phrases or prefixes whose words are all stop words, or prefixes alone: rank by
      // Postgres' cover density among the rows that satisfy them.
      if (required.length === 0) return [];
      const rows = yield* sql.query<{ id: string; document_id: string; score: number }>(
        `SELECT id, ${docColumn} AS document_id, 1.0::float8 AS score FROM ${table}
          WHERE tenant = ${tenantP} AND ${required.join(" AND ")}${extra}
          ORDER BY length(tsv), id LIMIT ${limit}`,
        params,
      );
      return rows.map((r) => ({ id: r.id, documentId: r.document_id, score: Number(r.score) }));
    }
    const termsP = next(lexemes);
    const scopeP = next(table === "arbor_chunks" ? "chunks" : "documents");
    const anyP = next(lexemes.map(quoteLexeme).join(" | "));
    const { k1, b } = BM25;
    const { rows: n, meanLength } = options.stats;
    const nP = next(n);
    const meanP = next(Math.max(1, meanLength));
    // idf per term from the kept document frequencies (term-stats.ts; a CTE kept materialised so
    // that it is computed once, not once per candidate row).
    const scored = `
      WITH idf AS MATERIALIZED (
        SELECT t.term, ln(1 + (greatest(${nP}::float8, d.df) - d.df + 0.5) / (d.df + 0.5)) AS idf
          FROM unnest(${termsP}::text[]) AS t(term)
          CROSS JOIN LATERAL (SELECT coalesce((SELECT greatest(s.df, 0) FROM arbor_terms s
                               WHERE s.tenant = ${tenantP} AND s.scope = ${scopeP} AND s.lexeme = t.term), 0)::float8 AS df) d
      )
      SELECT r.id, r.${docColumn} AS document_id,
             sum(idf.idf * u.tf * ${k1 + 1} / (u.tf + ${k1} * (${1 - b} + ${b} * length(r.tsv) / ${meanP}::float8))) AS score
        FROM ${table} r
        CROSS JOIN LATERAL (SELECT lexeme, coalesce(array_length(positions, 1), 1)::float8 AS tf
                              FROM unnest(ts_filter(setweight(r.tsv, 'A', ${termsP}::text[]), '{a}'))) u
        JOIN idf ON idf.term = u.lexeme
       WHERE r.tenant = ${tenantP} AND r.tsv @@ ${anyP}::tsquery
         ${required.map((c) => `AND r.${c}`).join(" ")}${extra}
       GROUP BY r.tenant, r.id`;
    const rows = yield* sql.query<{ id: string; document_id: string; score: number }>(
      options.perDocument
        ? `SELECT id, document_id, score FROM (
             SELECT s.*, row_number() OVER (PARTITION BY document_id ORDER BY score DESC, id) AS nth
               FROM (${scored}) s) ranked
            WHERE nth <= ${Math.max(1, Math.floor(options.perDocument))}
            ORDER BY score DESC, id LIMIT ${limit}`
        : `${scored} ORDER BY score DESC, id LIMIT ${limit}`,
      params,
    );
    return rows.map((r) => ({ id: r.id, documentId: r.document_id, score: Number(r.score) }));
  });
