/**
 * Okapi BM25 in SQL, over the `tsvector` columns Postgres (and PGlite) already keep with a GIN
 * index: the same statements on every store, no extension beyond core full-text search.
 *
 * - Terms are the query's lexemes made by the same `Lexer` as the stored ones (`lexemes.ts`: words
 *   split in JavaScript, stemmed by the `english` configuration, stop words out).
 * - `idf = ln(1 + (N - df + 0.5) / (df + 0.5))` with `df` read from the kept term statistics
 *   (`term-stats.ts`) and `N` the partition's rows; `tf` is the number of positions a lexeme has in a row's
 *   `tsvector`; length is the row's number of distinct lexemes (kept in `lexemes`), normalised by
 *   the partition's mean.
 * - Only the query's lexemes of a row are unnested: `setweight(tsv, 'A', terms)` marks them and
 *   `ts_filter(…, '{a}')` keeps them (rows are stored with weight D), both in C.
 * - Each scored row's `tsvector` is unpacked (it is compressed), the cost that grows with the
 *   rows holding a query word; so candidates come from the GIN index, never a scan testing every
 *   row, and max-score pruning (exact) scores only the rows holding the rarest words when the
 *   common ones cannot lift another row into the top k.
 * - `"a phrase"` in the query must appear as a phrase, `prefix*` must match a word starting so;
 *   their words also count in the score.
 * - Whole documents get a lead bonus (`LEAD`): a query term among a document's first words adds to
 *   its score (the earlier, the more), since a description, a README's first paragraph or a page's
 *   opening say what the document is about.
 * - A document is scored from its `weights` (`termWeights`): each lexeme once with one number,
 *   its tf and lead grade, so scoring unpacks a few bytes a word instead of every position of the
 *   document's `tsvector` (which stays for matching: phrases need positions).
 * - The statement only finds the candidates and cuts out their query lexemes (in C); the scores are
 *   summed here from one JSON text of them (summing in SQL, a scalar subquery per row, cost about
 *   twice as much: its executor start-up per row).
 * - Whole documents' best `k` rows then get a proximity bonus (`proximity.ts`): the idf of the
 *   query terms said close together, read from their `tsvector`s' positions for those rows only.
 *
 * Gotcha: `tsvector` keeps at most 256 positions of one lexeme (tf saturates long before that) and
 * positions above 16,383 are clamped; document-level rows index at most `DOCUMENT_TEXT_LIMIT`
 * characters, in one `tsvector` of at most 1 MiB (`fitTsvector`).
 */
import { Effect } from "effect";
import type { StoreError } from "../errors.ts";
import type { SqlClientService } from "../sql-client.ts";
import { type LexemeVector, type Lexer, parseTsvector, quoteLexeme } from "./lexemes.ts";
import { densestWindow, PROXIMITY } from "./proximity.ts";

/** BM25's term-frequency saturation (`k1`) and length normalisation (`b`): the usual values. */
export const BM25 = { k1: 1.2, b: 0.75 } as const;

/**
 * The lead bonus of document-level search: a query term adds up to `weight` × its idf once, by how
 * early it first occurs (where a document says what it is about): all of it at the first word,
 * falling linearly to nothing at word `window`. Chosen on the `readme` corpus (where it ties the
 * earlier step, the whole bonus within the first 100 words), checked on `man`: hybrid MRR@10
 * 0.753 → 0.760.
 */
export const LEAD = { window: 300, weight: 1.2 } as const;

/**
 * How finely a document's stored weights grade the lead bonus: `LEAD_GRADES` steps between none
 * and all of it (one step is ~10 words of a 300-word window).
 */
export const LEAD_GRADES = 31;

/**
 * A document's BM25 weights as a lexeme vector (the `weights` column): each lexeme once, at the
 * position `(LEAD_GRADES + 1) · tf + grade`, `tf` its number of positions (at most 256, as a
 * `tsvector` keeps; the largest value, 8,223, is within a position's 16,383) and `grade` its lead
 * bonus in `LEAD_GRADES` steps, from its first position: all of it at the first word, none from
 * word `LEAD.window` on.
 * Gotcha: stored, so a new `LEAD` window or grading needs a migration that recomputes them (as
 * migration 13 computed them, in SQL, the same way).
 */
export const termWeights = (vector: LexemeVector): LexemeVector =>
  new Map(
    [...vector].map(([lexeme, positions]) => [
      lexeme,
      [
        (LEAD_GRADES + 1) * Math.min(positions.length, 256) +
          Math.round(LEAD_GRADES * Math.max(0, 1 - (positions[0]! - 1) / LEAD.window)),
      ],
    ]),
  );

/** Highest score first, ties by id (as the SQL orders them). */
const bestFirst = (x: { id: string; score: number }, y: { id: string; score: number }): number =>
  Number(y.score) - Number(x.score) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);

/** Rows a first max-score pass aims to score (see `bm25Search`). */
const PRUNING_BUDGET = 400;

/**
 * Characters of a document indexed for document-level keyword search: about 600,000 words, a few
 * books. Its vector is cut to what a `tsvector` holds (`fitTsvector`): positions stop at word
 * 16,383, so past it a word adds itself once, and the vector keeps every distinct word of ordinary
 * text (a text of mostly distinct tokens loses those that first occur late).
 */
export const DOCUMENT_TEXT_LIMIT = 4_000_000;

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
      `SELECT count(*)::float8 AS n, avg(lexemes)::float8 AS mean FROM ${table} WHERE tenant = $1 AND tsv IS NOT NULL`,
      [tenant],
    ),
    (r) => ({ rows: Number(r[0]?.n ?? 0), meanLength: Number(r[0]?.mean ?? 1) }),
  );

/** Document frequencies of `lexemes` in `scope` (`term-stats.ts`); a lexeme never seen has 0. */
export const documentFrequencies = <S extends "chunks" | "documents">(
  sql: SqlClientService,
  tenant: string,
  scopes: ReadonlyArray<S>,
  lexemes: ReadonlyArray<string>,
): Effect.Effect<ReadonlyMap<S, ReadonlyMap<string, number>>, StoreError> =>
  Effect.map(
    sql.query<{ scope: S; lexeme: string; df: number }>(
      "SELECT scope, lexeme, greatest(df, 0) AS df FROM arbor_terms WHERE tenant = $1 AND scope = ANY($2::text[]) AND lexeme = ANY($3::text[])",
      [tenant, scopes, lexemes],
    ),
    (rows) => {
      const found = new Map(scopes.map((s) => [s, new Map<string, number>(lexemes.map((l) => [l, 0]))]));
      for (const r of rows) found.get(r.scope)?.set(r.lexeme, Number(r.df));
      return found;
    },
  );

/** One scored row id. */
export interface Bm25Hit {
  readonly id: string;
  readonly documentId: string;
  readonly score: number;
}

/**
 * The BM25 top `k` rows of `table` in `tenant` that match the query; `extra` (numbering its
 * parameters with `next`) narrows the rows (a metadata filter), and so does `documents`.
 */
export const bm25Search = (
  sql: SqlClientService,
  options: {
    readonly table: "arbor_chunks" | "arbor_documents";
    readonly tenant: string;
    readonly query: KeywordQuery;
    readonly k: number;
    /** Appended as `AND …`; each parameter's placeholder comes from `next(value)`. */
    readonly extra?: (next: (value: unknown) => string) => string;
    /** At most this many best rows per document (passages of chosen documents). */
    readonly perDocument?: number;
    /** Makes the query's lexemes exactly as the stored ones were made. */
    readonly lexer: Lexer;
    /** The partition's rows and their mean length (`corpusStats`). */
    readonly stats: CorpusStats;
    /** The lexemes' document frequencies (default: read from `arbor_terms`; a store caches them). */
    readonly frequencies?: (
      lexemes: ReadonlyArray<string>,
    ) => Effect.Effect<ReadonlyMap<string, number>, StoreError>;
    /** Only rows of these documents (a few: read through the document index, all scored). */
    readonly documents?: ReadonlyArray<string>;
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
    const wholeDocuments = table === "arbor_documents";
    const docColumn = wholeDocuments ? "id" : "document_id";
    if (lexemes.length === 0) {
      // Only phrases or prefixes whose words are all stop words, or prefixes alone: rank by
      // Postgres' cover density among the rows that satisfy them.
      if (required.length === 0) return [];
      const rows = yield* sql.query<{ id: string; document_id: string; score: number }>(
        `SELECT id, ${docColumn} AS document_id, 1.0::float8 AS score FROM ${table}
          WHERE tenant = ${tenantP} AND ${required.join(" AND ")}${extra}
          ORDER BY length(tsv), id LIMIT ${next(Math.max(1, Math.floor(options.k)))}`,
        params,
      );
      return rows.map((r) => ({ id: r.id, documentId: r.document_id, score: Number(r.score) }));
    }
    const scope = wholeDocuments ? "documents" : "chunks";
    const df = yield* (
      options.frequencies ??
      ((l) => Effect.map(documentFrequencies(sql, tenant, [scope], l), (found) => found.get(scope)!))
    )(lexemes);
    const { rows: n, meanLength } = options.stats;
    const idf = lexemes.map((t) => {
      const d = df.get(t) ?? 0;
      return Math.log(1 + (Math.max(n, d) - d + 0.5) / (d + 0.5));
    });
    const termsP = next(lexemes);
    const { k1, b } = BM25;
    // Only whole documents have a lead: a passage's first words are no more telling than its others.
    const lead = wholeDocuments ? LEAD.weight : 0;
    const within = options.documents;
    // Rows of the chosen documents (a handful) are read through the document index; otherwise
    // the rows holding a query word come from the full-text index.
    const source = within
      ? `(SELECT * FROM ${table} WHERE tenant = ${tenantP} AND document_id = ANY(${next(within)}::text[]) OFFSET 0)`
      : table;
    // A document's tf and lead come from its compact weights (one number per lexeme, `termWeights`);
    // a passage's tf is its lexeme's number of positions (scored here, from one JSON text).
    const vectorColumn = wholeDocuments ? "weights" : "tsv";
    const candidates = (anyP: string) => `
      SELECT json_agg(json_build_array(r.id, r.${docColumn}, r.lexemes,
               ts_filter(setweight(r.${vectorColumn}, 'A', ${termsP}::text[]), '{a}')::text))::text AS rows
        FROM ${source} r
       WHERE r.tenant = ${tenantP} AND r.tsv @@ ${anyP}::tsquery
         ${required.map((c) => `AND r.${c}`).join(" ")}${extra}`;
    const termOf = new Map(lexemes.map((l, i) => [l, i]));
    const scoreOf = (length: number, found: string): number => {
      const norm = k1 * (1 - b + (b * length) / Math.max(1, meanLength));
      let score = 0;
      for (const [lexeme, positions] of parseTsvector(found)) {
        const i = termOf.get(lexeme);
        if (i === undefined) continue;
        const weight = positions[0] ?? 0;
        const tf = wholeDocuments ? Math.floor(weight / (LEAD_GRADES + 1)) : Math.max(1, positions.length);
        const leadPart = wholeDocuments ? (lead * (weight % (LEAD_GRADES + 1))) / LEAD_GRADES : 0;
        score += idf[i]! * ((tf * (k1 + 1)) / (tf + norm) + leadPart);
      }
      return score;
    };
    const perDocument = options.perDocument ? Math.max(1, Math.floor(options.perDocument)) : undefined;
    /** The best `k` (with `perDocument`, at most that many of one document) of scored rows. */
    const best = (rows: ReadonlyArray<Bm25Hit>, k: number): ReadonlyArray<Bm25Hit> => {
      const sorted = [...rows].sort(bestFirst);
      if (!perDocument) return sorted.slice(0, k);
      const taken = new Map<string, number>();
      return sorted
        .filter((r) => {
          const n = taken.get(r.documentId) ?? 0;
          taken.set(r.documentId, n + 1);
          return n < perDocument;
        })
        .slice(0, k);
    };
    const anyOf = (terms: ReadonlyArray<number>) => terms.map((i) => quoteLexeme(lexemes[i]!)).join(" | ");
    /** Scores the rows holding one of `terms` (and, with `without`, none of those). */
    const run = (terms: ReadonlyArray<number>, without: ReadonlyArray<number> = []) => {
      const matching = without.length === 0 ? anyOf(terms) : `(${anyOf(terms)}) & !(${anyOf(without)})`;
      const withTerms = [...params, matching];
      const select = Effect.map(
        sql.query<{ rows: string | null }>(candidates(`$${withTerms.length}`), withTerms),
        (found) =>
          (JSON.parse(found[0]?.rows ?? "[]") as ReadonlyArray<[string, string, number, string]>).map(
            ([id, documentId, length, lexemesFound]) => ({
              id,
              documentId,
              score: scoreOf(length, lexemesFound),
            }),
          ),
      );
      // The planner reckons that reading most rows beats the full-text index when a word is
      // common, not counting that each row's tsvector is unpacked to test it: several times slower.
      // PGlite's planner has no statistics of the tsvectors (no autovacuum, and Arbor's own ANALYZE
      // leaves them out), so it always takes the index: no transaction to forbid the scan there.
      return within || sql.dialect === "pglite"
        ? select
        : sql.transaction(Effect.zipRight(sql.exec("SET LOCAL enable_seqscan = off"), select));
    };
    const k = Math.max(1, Math.floor(options.k));
    // Max-score pruning (exact): a row holding none of the rarest terms scores at most the sum of
    // the other terms' bounds (idf · (k1 + 1 + lead), tf unbounded); once the k-th best score among the
    // rows holding a rare term beats that sum, no other row can enter the top k. The first pass
    // takes the rarest terms up to about `PRUNING_BUDGET` rows; if its k-th score is not enough, a
    // second pass adds terms until it is (a larger candidate set only raises the k-th score).
    const order = lexemes.map((_, i) => i).sort((x, y) => idf[y]! - idf[x]! || x - y);
    const bound = (from: number) => order.slice(from).reduce((sum, i) => sum + idf[i]! * (k1 + 1 + lead), 0);
    const budget = Math.max(PRUNING_BUDGET, 8 * k);
    let first = within ? order.length : 1;
    let seen = df.get(lexemes[order[0]!]!) ?? 0;
    while (first < order.length && seen + (df.get(lexemes[order[first]!]!) ?? 0) <= budget) {
      seen += df.get(lexemes[order[first]!]!) ?? 0;
      first++;
    }
    const scored = yield* run(order.slice(0, first));
    let hits = best(scored, k);
    if (first < order.length) {
      const kth = hits.length >= k ? hits[k - 1]!.score : 0;
      let enough = first;
      while (enough < order.length && !(bound(enough) * (1 + 1e-9) < kth)) enough++;
      // Only the rows the first pass did not score, ranked with those it did.
      if (enough > first)
        hits = best([...scored, ...(yield* run(order.slice(first, enough), order.slice(0, first)))], k);
    }
    return wholeDocuments && lexemes.length > 1 && hits.length > 1
      ? yield* withProximity(sql, tenant, hits, lexemes, idf)
      : hits;
  });

/**
 * Whole documents' best rows with the proximity bonus (`proximity.ts`) added and ranked again:
 * the query terms' positions are read for these rows only.
 */
const withProximity = (
  sql: SqlClientService,
  tenant: string,
  hits: ReadonlyArray<Bm25Hit>,
  lexemes: ReadonlyArray<string>,
  idf: ReadonlyArray<number>,
): Effect.Effect<ReadonlyArray<Bm25Hit>, StoreError> =>
  Effect.map(
    sql.query<{ rows: string | null }>(
      `SELECT json_agg(json_build_array(r.id, ts_filter(setweight(r.tsv, 'A', $2::text[]), '{a}')::text))::text AS rows
         FROM arbor_documents r
        WHERE r.tenant = $1 AND r.id = ANY($3::text[])`,
      [tenant, lexemes, hits.map((h) => h.id)],
    ),
    (found) => {
      const term = new Map(lexemes.map((l, i) => [l, i]));
      const positions = new Map<string, Array<ReadonlyArray<number>>>();
      for (const [id, text] of JSON.parse(found[0]?.rows ?? "[]") as ReadonlyArray<[string, string]>) {
        const row = lexemes.map((): ReadonlyArray<number> => []);
        for (const [lexeme, at] of parseTsvector(text)) {
          const i = term.get(lexeme);
          if (i !== undefined) row[i] = at;
        }
        positions.set(id, row);
      }
      return hits
        .map((h) => {
          const row = positions.get(h.id);
          return row
            ? { ...h, score: h.score + PROXIMITY.weight * densestWindow(row, idf, PROXIMITY.window) }
            : h;
        })
        .sort(bestFirst);
    },
  );
