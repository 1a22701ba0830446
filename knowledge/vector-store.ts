/**
 * `VectorStore`: documents and their chunks, with pgvector embeddings (HNSW, cosine) and Postgres
 * full-text search, over the `SqlClient` (PGlite or `pg`).
 *
 * Gotcha: HNSW inserts are expensive (in PGlite's WebAssembly about 3 ms a row), a bulk build
 * about a third of that per row. A batch at least `bulkThreshold` rows long and at least half the
 * table's size therefore drops the index and loads without it; so do the writes after it while the
 * index is missing, and the next vector search builds it once for the whole load (until then, or
 * if another process dropped it, a search reads every row: exact, only slower).
 */

import { Clock, Context, Effect, Layer } from "effect";
import { KnowledgeConfigError, KnowledgeInputError, type StoreError } from "./errors.ts";
import { DEFAULT_PARTITION } from "./graph-store.ts";
import { chunkIndex, type HnswOptions } from "./hnsw.ts";
import {
  bm25Search,
  type CorpusStats,
  corpusStats,
  DOCUMENT_TEXT_LIMIT,
  documentFrequencies,
  hasTerms,
  parseKeywordQuery,
  termWeights,
} from "./internal/bm25.ts";
import { encodeCopyBinary } from "./internal/copy-binary.ts";
import {
  type EntityHit,
  type EntityVector,
  searchEntityVectors,
  upsertEntityVectors,
} from "./internal/entity-vectors.ts";
import {
  fitTsvector,
  type LexemeVector,
  type Lexer,
  makeLexer,
  tsvectorLiteral,
} from "./internal/lexemes.ts";
import { refreshOnGrowth } from "./internal/statistics.ts";
import { countTerms, forgetTerms, type TermScope } from "./internal/term-stats.ts";
import { migrate } from "./migrations.ts";
import { SqlClient, type SqlClientService } from "./sql-client.ts";

/** Equality filters on chunk metadata (`{lang: "en", source: "wiki"}`), all of which must hold. */
export type MetadataFilter = Readonly<Record<string, string | number | boolean>>;

/** A chunk to store. `embedding` must have the store's dimension. */
export interface ChunkRecord {
  readonly id: string;
  readonly documentId: string;
  readonly ord: number;
  readonly text: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly embedding: ArrayLike<number>;
}

/** A stored document's bookkeeping row (its content hash makes ingest idempotent). */
export interface DocumentRecord {
  readonly id: string;
  readonly hash: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly chunks: number;
  /** The document's text, for document-level keyword search (written, never read back). */
  readonly text?: string;
}

/** One document found by document-level keyword search (BM25 over whole documents). */
export interface DocumentHit {
  readonly documentId: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly score: number;
}

/** One retrieved chunk; `score` is cosine similarity (vector) or BM25 (keyword). */
export interface ChunkHit {
  readonly chunkId: string;
  readonly documentId: string;
  readonly text: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly score: number;
}

/** The vector port. */
export interface VectorStoreService {
  readonly dimension: number;
  /** The partition this service reads and writes (`DEFAULT_PARTITION` is the operator's). */
  readonly tenant: string;
  /** The same store confined to `tenant`'s partition: documents and chunks of others are invisible. */
  readonly partition: (tenant: string) => VectorStoreService;
  /** Inserts or replaces chunks by id, in batches with parameters (binary COPY on PGlite). */
  readonly upsert: (
    chunks: ReadonlyArray<ChunkRecord>,
  ) => Effect.Effect<void, StoreError | KnowledgeInputError>;
  readonly getDocument: (id: string) => Effect.Effect<DocumentRecord | undefined, StoreError>;
  /** The stored documents among `ids` (missing ones are left out), in no particular order. */
  readonly getDocuments: (
    ids: ReadonlyArray<string>,
  ) => Effect.Effect<ReadonlyArray<DocumentRecord>, StoreError>;
  /** Replaces a document's chunks and bookkeeping row atomically. */
  readonly replaceDocument: (
    document: DocumentRecord,
    chunks: ReadonlyArray<ChunkRecord>,
  ) => Effect.Effect<void, StoreError | KnowledgeInputError>;
  /**
   * Replaces several documents' chunks and bookkeeping rows in one transaction, writing all the
   * chunks as one batch (so a large load takes the bulk path: index rebuilt after the load).
   */
  readonly replaceDocuments: (
    documents: ReadonlyArray<{
      readonly document: DocumentRecord;
      readonly chunks: ReadonlyArray<ChunkRecord>;
    }>,
  ) => Effect.Effect<void, StoreError | KnowledgeInputError>;
  readonly deleteDocument: (id: string) => Effect.Effect<boolean, StoreError>;
  /**
   * Nearest chunks by cosine distance (approximate: HNSW). With `bare`, hits carry no text and no
   * metadata (empty): reading those of a hundred rows cost as much as the search itself.
   */
  readonly searchVector: (query: {
    readonly vector: ReadonlyArray<number>;
    readonly k: number;
    readonly filter?: MetadataFilter;
    readonly bare?: boolean;
    /**
     * A coarser, faster walk of the index (at most `COARSE_CANDIDATES` candidates instead of the
     * configured `efSearch`), for a list that is one signal among others (hybrid search's).
     */
    readonly coarse?: boolean;
  }) => Effect.Effect<ReadonlyArray<ChunkHit>, StoreError | KnowledgeInputError>;
  /** Exact nearest chunks (sequential scan): the baseline approximate search is measured against. */
  readonly searchExact: (query: {
    readonly vector: ReadonlyArray<number>;
    readonly k: number;
  }) => Effect.Effect<ReadonlyArray<ChunkHit>, StoreError | KnowledgeInputError>;
  /**
   * Keyword search ranked by BM25 (English stemming; `"a phrase"` must appear as such, `pre*`
   * matches words starting so). `documents` confines it to those documents, `perDocument` keeps at
   * most that many passages of each. With `bare`, hits carry no text and no metadata (empty), for
   * a caller that reads them together with other chunks' (`getChunks`).
   */
  readonly searchKeyword: (query: {
    readonly text: string;
    readonly k: number;
    readonly filter?: MetadataFilter;
    readonly documents?: ReadonlyArray<string>;
    readonly perDocument?: number;
    readonly bare?: boolean;
  }) => Effect.Effect<ReadonlyArray<ChunkHit>, StoreError | KnowledgeInputError>;
  /**
   * Keyword search over whole documents, ranked by BM25 (`filter` applies to document metadata).
   * With `bare`, hits carry no metadata (empty): one statement fewer.
   */
  readonly searchKeywordDocuments: (query: {
    readonly text: string;
    readonly k: number;
    readonly filter?: MetadataFilter;
    readonly bare?: boolean;
  }) => Effect.Effect<ReadonlyArray<DocumentHit>, StoreError | KnowledgeInputError>;
  readonly getChunks: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<ChunkHit>, StoreError>;
  /**
   * Records which embedder makes this store's vectors, and returns its name: `name`, or the one
   * already recorded when the store holds its vectors and `keeps` accepts it (an older version of
   * the same embedder, which then goes on serving this store). Fails with `embedder_mismatch` when
   * the store holds vectors of another one (vectors of two models never share an index). An empty
   * store takes `name`.
   */
  readonly claimEmbedder: (
    name: string,
    keeps?: (recorded: string) => boolean,
  ) => Effect.Effect<string, StoreError | KnowledgeConfigError>;
  /** Inserts or replaces the vectors of entities (by id), for `searchEntities`. */
  readonly upsertEntities: (
    entities: ReadonlyArray<EntityVector>,
  ) => Effect.Effect<void, StoreError | KnowledgeInputError>;
  /** The entities nearest a vector (exact), of `types` when given, leaving out `exclude`. */
  readonly searchEntities: (query: {
    readonly vector: ReadonlyArray<number>;
    readonly k: number;
    readonly types?: ReadonlyArray<string>;
    readonly exclude?: ReadonlyArray<string>;
  }) => Effect.Effect<ReadonlyArray<EntityHit>, StoreError | KnowledgeInputError>;
  readonly count: () => Effect.Effect<number, StoreError>;
}

/** The vector store service. */
export class VectorStore extends Context.Tag("arbor/knowledge/VectorStore")<
  VectorStore,
  VectorStoreService
>() {}

/** Settings of the SQL vector store. */
export interface VectorStoreOptions extends Partial<HnswOptions> {
  readonly dimension: number;
  /** Smallest batch that may rebuild the index instead of inserting into it. */
  readonly bulkThreshold?: number;
}

const vectorText = (v: ArrayLike<number>): string => `[${Array.prototype.join.call(v, ",")}]`;

interface HitRow {
  readonly id: string;
  readonly document_id: string;
  readonly text: string;
  readonly metadata: Record<string, unknown>;
  readonly score: number;
}
const toHit = (r: HitRow): ChunkHit => ({
  chunkId: r.id,
  documentId: r.document_id,
  text: r.text,
  metadata: r.metadata,
  score: Number(r.score),
});

/** A hit without its text and metadata (read later, for the few that are shown). */
const toBareHit = (r: Pick<HitRow, "id" | "document_id" | "score">): ChunkHit => ({
  chunkId: r.id,
  documentId: r.document_id,
  text: "",
  metadata: {},
  score: Number(r.score),
});

const emptyQuery = () => new KnowledgeInputError({ reason: "empty_query", detail: "the query has no words" });

/**
 * Index candidates (`hnsw.ef_search`, at most the configured `efSearch`) of a coarse vector search:
 * hybrid search's vector list. On the `man` corpus (2,000 pages, 18,082 chunks) 200 instead of
 * 400 cost hybrid MRR@10 0.002 and saved about 3 ms a search; 120 instead of 200 changed it by
 * less than 0.002 there and on 2,000 npm READMEs, and saved 1.5–2 ms more. A vector search alone
 * keeps the configured walk (recall@10 against exact search 0.99 at 400, 0.98 at 200).
 */
export const COARSE_CANDIDATES = 120;

/** The planner's cost of a random page read in PGlite (memory), against 1 for a sequential one. */
const PGLITE_RANDOM_PAGE_COST = 1.1;

const INSERT_BATCH = 500; // rows per multi-row INSERT (at most 9 parameters a row)

/** Merges the chunk table's GIN pending lists (PGlite has no autovacuum to do it). */
const MERGE_CHUNK_GIN =
  "SELECT gin_clean_pending_list('arbor_chunks_tsv'::regclass), gin_clean_pending_list('arbor_chunks_metadata'::regclass)";

/**
 * Planner statistics after a large load, of the columns searches select rows by. The vectors,
 * texts and tsvectors are left out (most of ANALYZE's time): nothing is selected by comparing them,
 * keyword search reads the full-text index by design (`internal/bm25.ts`), and vector search
 * the HNSW index.
 */
const ANALYZE_CHUNKS = "ANALYZE arbor_chunks (tenant, id, document_id, metadata)";
const ANALYZE_DOCUMENTS = "ANALYZE arbor_documents (tenant, id, metadata)";

/** How long a partition's BM25 corpus statistics are reused. */
const STATS_MAX_AGE_MS = 60_000;

/** Document rows in groups of at most `INSERT_BATCH` rows and about 4 MB of text a statement. */
const documentBatches = (documents: ReadonlyArray<DocumentRecord>): ReadonlyArray<DocumentRecord[]> => {
  const groups: DocumentRecord[][] = [];
  let current: DocumentRecord[] = [];
  let chars = 0;
  for (const d of documents) {
    const size = Math.min(d.text?.length ?? 0, DOCUMENT_TEXT_LIMIT);
    if (current.length > 0 && (current.length >= INSERT_BATCH || chars + size > 4_000_000)) {
      groups.push(current);
      current = [];
      chars = 0;
    }
    current.push(d);
    chars += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
};

const insertRows = (
  sql: SqlClientService,
  lexer: Lexer,
  tenant: string,
  chunks: ReadonlyArray<ChunkRecord>,
  dimension: number,
) =>
  Effect.gen(function* () {
    const conflict = `ON CONFLICT (tenant, id) DO UPDATE SET document_id = EXCLUDED.document_id, ord = EXCLUDED.ord,
      text = EXCLUDED.text, metadata = EXCLUDED.metadata, embedding = EXCLUDED.embedding, tsv = EXCLUDED.tsv,
      lexemes = EXCLUDED.lexemes`;
    const columns = "tenant, id, document_id, ord, text, metadata, embedding, tsv, lexemes";
    const vectors = yield* lexer.vectors(chunks.map((c) => c.text));
    const lexemes = new Map(chunks.map((c, i) => [c.id, vectors[i]!]));
    yield* countTerms(sql, tenant, "chunks", lexemes.values());
    const copyFrom = sql.copyFrom;
    if (copyFrom) {
      yield* sql.exec(`CREATE TEMP TABLE IF NOT EXISTS arbor_chunks_stage_v3 (tenant text, id text, document_id text,
        ord integer, text text, metadata jsonb, embedding vector(${dimension}), tsv tsvector, lexemes integer)`);
      for (let i = 0; i < chunks.length; i += 5000) {
        const batch = chunks.slice(i, i + 5000);
        const blob = encodeCopyBinary(
          batch.map((c) => [
            { kind: "text", value: tenant } as const,
            { kind: "text", value: c.id } as const,
            { kind: "text", value: c.documentId } as const,
            { kind: "int4", value: c.ord } as const,
            { kind: "text", value: c.text } as const,
            { kind: "jsonb", value: JSON.stringify(c.metadata) } as const,
            { kind: "vector", value: c.embedding } as const,
            { kind: "tsvector", value: lexemes.get(c.id)! } as const,
            { kind: "int4", value: lexemes.get(c.id)!.size } as const,
          ]),
        );
        // New ids (the common case: fresh documents) are copied straight in; otherwise through a
        // staging table, so an existing chunk is updated.
        const ids = batch.map((c) => c.id);
        const fresh =
          ((yield* sql.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM arbor_chunks WHERE tenant = $2 AND id = ANY($1::text[])",
            [ids, tenant],
          ))[0]?.n ?? 0) === 0;
        if (fresh) {
          yield* copyFrom(`COPY arbor_chunks (${columns}) FROM '/dev/blob' WITH (FORMAT binary)`, blob);
          continue;
        }
        yield* forgetTerms(sql, tenant, "chunks", "r.id = ANY($2::text[])", [ids]);
        yield* copyFrom(
          `COPY arbor_chunks_stage_v3 (${columns}) FROM '/dev/blob' WITH (FORMAT binary)`,
          blob,
        );
        yield* sql.query(
          `INSERT INTO arbor_chunks (${columns})
           SELECT ${columns} FROM arbor_chunks_stage_v3 ${conflict}`,
        );
        yield* sql.exec("TRUNCATE arbor_chunks_stage_v3");
      }
      return;
    }
    for (let i = 0; i < chunks.length; i += INSERT_BATCH) {
      const batch = chunks.slice(i, i + INSERT_BATCH);
      yield* forgetTerms(sql, tenant, "chunks", "r.id = ANY($2::text[])", [batch.map((c) => c.id)]);
      const params: unknown[] = [];
      const values = batch.map((c) => {
        const n = params.length;
        params.push(
          tenant,
          c.id,
          c.documentId,
          c.ord,
          c.text,
          JSON.stringify(c.metadata),
          vectorText(c.embedding),
          tsvectorLiteral(lexemes.get(c.id)!),
          lexemes.get(c.id)!.size,
        );
        return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}::jsonb, $${n + 7}::vector, $${n + 8}::tsvector, $${n + 9}::int)`;
      });
      yield* sql.query(
        `INSERT INTO arbor_chunks (${columns}) VALUES ${values.join(", ")} ${conflict}`,
        params,
      );
    }
  });

/**
 * Writes documents' bookkeeping rows (replacing any of the same id when `replacing`): binary `COPY` on PGlite
 * (parsing each document's `tsvector` text in WebAssembly was most of the statement), multi-row
 * upserts elsewhere.
 */
const writeDocuments = (
  sql: SqlClientService,
  tenant: string,
  documents: ReadonlyArray<DocumentRecord>,
  lexemes: ReadonlyMap<string, LexemeVector>,
  now: number,
  replacing: boolean,
) =>
  Effect.gen(function* () {
    const columns = "tenant, id, hash, metadata, chunks, updated_at, tsv, lexemes, weights";
    const copyFrom = sql.copyFrom;
    if (copyFrom) {
      if (replacing)
        yield* sql.query("DELETE FROM arbor_documents WHERE tenant = $2 AND id = ANY($1::text[])", [
          documents.map((d) => d.id),
          tenant,
        ]);
      for (const group of documentBatches(documents)) {
        const blob = encodeCopyBinary(
          group.map((d) => {
            const vector = lexemes.get(d.id);
            return [
              { kind: "text", value: tenant },
              { kind: "text", value: d.id },
              { kind: "text", value: d.hash },
              { kind: "jsonb", value: JSON.stringify(d.metadata) },
              { kind: "int4", value: d.chunks },
              { kind: "float8", value: now },
              vector ? { kind: "tsvector", value: vector } : { kind: "null" },
              vector ? { kind: "int4", value: vector.size } : { kind: "null" },
              vector ? { kind: "tsvector", value: termWeights(vector) } : { kind: "null" },
            ];
          }),
        );
        yield* copyFrom(`COPY arbor_documents (${columns}) FROM '/dev/blob' WITH (FORMAT binary)`, blob);
      }
      return;
    }
    for (const group of documentBatches(documents)) {
      const params: unknown[] = [];
      const rows = group.map((d) => {
        const n = params.length;
        const vector = lexemes.get(d.id);
        params.push(
          tenant,
          d.id,
          d.hash,
          JSON.stringify(d.metadata),
          d.chunks,
          now,
          vector ? tsvectorLiteral(vector) : null,
          vector ? vector.size : null,
          vector ? tsvectorLiteral(termWeights(vector)) : null,
        );
        return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}::jsonb, $${n + 5}, $${n + 6}, $${n + 7}::tsvector, $${n + 8}::int, $${n + 9}::tsvector)`;
      });
      yield* sql.query(
        `INSERT INTO arbor_documents (${columns}) VALUES ${rows.join(", ")}
         ON CONFLICT (tenant, id) DO UPDATE SET hash = EXCLUDED.hash, metadata = EXCLUDED.metadata,
           chunks = EXCLUDED.chunks, updated_at = EXCLUDED.updated_at, tsv = EXCLUDED.tsv,
           lexemes = EXCLUDED.lexemes, weights = EXCLUDED.weights`,
        params,
      );
    }
  });

/** Makes the SQL vector store on the current `SqlClient`, migrating the schema first. */
export const makeSqlVectorStore = (
  options: VectorStoreOptions,
): Effect.Effect<VectorStoreService, StoreError | KnowledgeConfigError, SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient;
    const lexer = makeLexer(sql);
    const { dimension } = options;
    const index = yield* chunkIndex(sql, options);
    // Low enough that a load's first frame (1 MiB of text: about 1,000 man-page chunks, sometimes
    // fewer) into an empty store drops the index: at 1,000, the first frame of the man pages (993
    // chunks) went in row by row, 2.9 s of a 13 s load.
    const bulkThreshold = options.bulkThreshold ?? 500;
    yield* migrate({ dimension });
    yield* index.ensure;
    const documentsGrew = refreshOnGrowth(sql, ANALYZE_DOCUMENTS);
    /** False after this process dropped the index for a bulk load (see `searchVector`). */
    let indexKnown = true;
    // PGlite's pages are all in memory, so a random read costs what a sequential one does: with
    // Postgres' default (4 to 1), the planner reads every vector of a store of a few thousand
    // chunks rather than walk the HNSW index (6–8 ms a search against 3–5 ms).
    const coarseWalk = Math.min(COARSE_CANDIDATES, index.efSearch);
    if (sql.dialect === "pglite")
      yield* sql.exec(
        `${index.searchSettings("SESSION", coarseWalk)}; SET random_page_cost = ${PGLITE_RANDOM_PAGE_COST}`,
      );

    const allFinite = (v: ArrayLike<number>) => {
      for (let k = 0; k < v.length; k++) if (!Number.isFinite(v[k])) return false;
      return true;
    };
    const checkVector = (v: ArrayLike<number>, what: string) =>
      v.length === dimension && allFinite(v)
        ? Effect.void
        : Effect.fail(
            new KnowledgeInputError({
              reason: "bad_dimension",
              detail: `${what} has ${v.length} numbers${v.length === dimension ? " (not all finite)" : ""}; this store holds ${dimension}-dimensional vectors`,
            }),
          );

    const claimEmbedder: VectorStoreService["claimEmbedder"] = (name, keeps) =>
      sql.transaction(
        Effect.gen(function* () {
          const stored = (yield* sql.query<{ value: unknown }>(
            "SELECT value FROM arbor_meta WHERE key = 'embedding_model' FOR UPDATE",
          ))[0]?.value;
          if (stored === name) return name;
          const held = yield* sql.query<{ n: number }>(
            "SELECT ((SELECT count(*) FROM arbor_chunks) + (SELECT count(*) FROM arbor_entity_vectors))::int AS n",
          );
          if (typeof stored === "string" && (held[0]?.n ?? 0) > 0) {
            if (keeps?.(stored)) return stored;
            return yield* new KnowledgeConfigError({
              reason: "embedder_mismatch",
              detail: `the database's vectors were made by ${stored} but the embedder is ${name}; vectors of two models cannot share an index: use the same embedder, another data dir / database, or ingest again into an empty one`,
            });
          }
          yield* sql.query(
            `INSERT INTO arbor_meta (key, value) VALUES ('embedding_model', to_jsonb($1::text))
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
            [name],
          );
          return name;
        }),
      );

    /** Rows in every partition: the index is one, so its rebuild is decided on the whole table. */
    const countAll = () =>
      Effect.map(
        sql.query<{ n: number }>("SELECT count(*)::int AS n FROM arbor_chunks"),
        (r) => r[0]?.n ?? 0,
      );
    const partitions = new Map<string, VectorStoreService>();
    const partition = (tenant: string): VectorStoreService => {
      const known = partitions.get(tenant);
      if (known) return known;
      const made = scoped(tenant);
      partitions.set(tenant, made);
      return made;
    };

    /** One tenant's partition: every statement names `tenant`. */
    const scoped = (tenant: string): VectorStoreService => {
      // BM25's corpus statistics (rows, mean length) cost a scan: kept for up to a minute, and
      // dropped when this process writes (another process's writes show within the minute).
      const stats = new Map<string, { readonly at: number; readonly value: CorpusStats }>();
      const statsOf = (table: "arbor_chunks" | "arbor_documents") =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis;
          const known = stats.get(table);
          if (known && now - known.at < STATS_MAX_AGE_MS) return known.value;
          const value = yield* corpusStats(sql, table, tenant);
          stats.set(table, { at: now, value });
          return value;
        });
      // Document frequencies of the lexemes searched for, kept as long (and dropped as) the above.
      const frequencies = new Map<TermScope, { at: number; readonly df: Map<string, number> }>();
      // A lexeme's frequency is read for both scopes at once: a hybrid search asks for the documents'
      // and then for the passages', so the second lookup is served from here.
      const frequenciesOf = (scope: TermScope) => (lexemes: ReadonlyArray<string>) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis;
          const current = (s: TermScope) => {
            let known = frequencies.get(s);
            if (!known || now - known.at >= STATS_MAX_AGE_MS) {
              known = { at: now, df: new Map() };
              frequencies.set(s, known);
            }
            return known.df;
          };
          const wanted = current(scope);
          const missing = lexemes.filter((l) => !wanted.has(l));
          if (missing.length > 0) {
            const found = yield* documentFrequencies(sql, tenant, ["chunks", "documents"], missing);
            for (const s of ["chunks", "documents"] as const) {
              const df = current(s);
              for (const [l, n] of found.get(s)!) if (!df.has(l)) df.set(l, n);
            }
          }
          return wanted;
        });
      const changed = Effect.sync(() => {
        stats.clear();
        frequencies.clear();
      });
      const count = () =>
        Effect.map(
          sql.query<{ n: number }>("SELECT count(*)::int AS n FROM arbor_chunks WHERE tenant = $1", [tenant]),
          (r) => r[0]?.n ?? 0,
        );

      const write = (given: ReadonlyArray<ChunkRecord>) =>
        Effect.gen(function* () {
          const bad = given.find((c) => c.embedding.length !== dimension || !allFinite(c.embedding));
          if (bad) yield* checkVector(bad.embedding, `embedding of chunk ${bad.id}`);
          const chunks = [...new Map(given.map((c) => [c.id, c])).values()]; // the last of a repeated id wins
          if (chunks.length === 0) return;
          const existing = chunks.length >= bulkThreshold ? yield* countAll() : Number.POSITIVE_INFINITY;
          // A large batch, or any batch of a load in progress, goes in without the index.
          if (existing <= 2 * chunks.length && (yield* index.present)) {
            yield* sql.exec("DROP INDEX IF EXISTS arbor_chunks_embedding");
            indexKnown = false;
          }
          yield* insertRows(sql, lexer, tenant, chunks, dimension);
          // A large load changes the planner's picture (PGlite has no autovacuum to notice): without
          // fresh statistics it scans the table instead of using the document or metadata index.
          // New full-text and metadata entries wait in the GIN pending lists, merged in one sorted
          // pass here (cheaper than inserting them one by one, and searches never scan a long list).
          yield* sql.exec(MERGE_CHUNK_GIN);
          if (existing <= 5 * chunks.length) yield* sql.exec(ANALYZE_CHUNKS);
          yield* changed;
        });

      /** The partition (always) and the metadata filter (when given), as a WHERE clause. */
      const filterClause = (filter: MetadataFilter | undefined, params: unknown[]) => {
        params.push(tenant);
        const own = `WHERE tenant = $${params.length}`;
        if (!filter || Object.keys(filter).length === 0) return own;
        params.push(JSON.stringify(filter));
        return `${own} AND metadata @> $${params.length}::jsonb`;
      };

      const searchVector: VectorStoreService["searchVector"] = ({ vector, k, filter, bare, coarse }) =>
        Effect.gen(function* () {
          yield* checkVector(vector, "query vector");
          // The first search after a bulk load builds the index the load left out. Only a load made
          // here is known: an index another process dropped on a shared Postgres is rebuilt by that
          // process (meanwhile searches read every row: exact, only slower), so a search does not
          // ask the catalog every time.
          if (!indexKnown) {
            if (!(yield* index.present)) yield* index.buildIfMissing;
            indexKnown = true;
          }
          const params: unknown[] = [vectorText(vector), Math.max(1, Math.floor(k))];
          const where = filterClause(filter, params);
          // The inner query walks the index; the outer one restores exact order (iterative scans,
          // which keep filtered and large-k searches from coming back short, may return slightly out
          // of order).
          // Bare hits leave out text and metadata (even constants: made and parsed per row, they
          // cost a quarter of a 120-row search).
          const columns = bare ? "id, document_id" : "id, document_id, text, metadata";
          const select = sql.query<HitRow>(
            `SELECT ${columns}, 1 - distance AS score FROM (
             SELECT id, document_id, ${bare ? "" : "text, metadata, "}embedding <=> $1::vector AS distance
               FROM arbor_chunks ${where} ORDER BY embedding <=> $1::vector LIMIT $2) hits
           ORDER BY distance, id`,
            params,
          );
          // PGlite has one session, tuned once at start for the default (hybrid) search's coarse
          // walk; a pool's sessions, and PGlite's for a full walk, are tuned per transaction.
          const walk = coarse ? coarseWalk : index.efSearch;
          const rows =
            sql.dialect === "pglite" && walk === coarseWalk
              ? yield* select
              : yield* sql.transaction(
                  Effect.zipRight(sql.exec(index.searchSettings("LOCAL", walk)), select),
                );
          return rows.map(bare ? toBareHit : toHit);
        });

      const searchExact: VectorStoreService["searchExact"] = ({ vector, k }) =>
        Effect.gen(function* () {
          yield* checkVector(vector, "query vector");
          return yield* sql.transaction(
            Effect.gen(function* () {
              yield* sql.exec("SET LOCAL enable_indexscan = off");
              const rows = yield* sql.query<HitRow>(
                `SELECT id, document_id, text, metadata, 1 - (embedding <=> $1::vector) AS score
                 FROM arbor_chunks WHERE tenant = $3 ORDER BY embedding <=> $1::vector, id LIMIT $2`,
                [vectorText(vector), Math.max(1, Math.floor(k)), tenant],
              );
              return rows.map(toHit);
            }),
          );
        });

      const searchKeyword: VectorStoreService["searchKeyword"] = ({
        text,
        k,
        filter,
        documents,
        perDocument,
        bare,
      }) =>
        Effect.gen(function* () {
          const query = parseKeywordQuery(text);
          if (!hasTerms(query)) return yield* emptyQuery();
          if (documents?.length === 0) return [];
          const found = yield* bm25Search(sql, {
            table: "arbor_chunks",
            tenant,
            query,
            k,
            lexer,
            stats: yield* statsOf("arbor_chunks"),
            frequencies: frequenciesOf("chunks"),
            ...(perDocument ? { perDocument } : {}),
            ...(documents ? { documents } : {}),
            ...(filter && Object.keys(filter).length > 0
              ? { extra: (next) => `metadata @> ${next(JSON.stringify(filter))}::jsonb` }
              : {}),
          });
          if (bare)
            return found.map((h) => toBareHit({ id: h.id, document_id: h.documentId, score: h.score }));
          const rows = yield* getChunks(found.map((h) => h.id));
          const byId = new Map(rows.map((r) => [r.chunkId, r]));
          return found.flatMap((h) => {
            const row = byId.get(h.id);
            return row ? [{ ...row, score: h.score }] : [];
          });
        });

      const searchKeywordDocuments: VectorStoreService["searchKeywordDocuments"] = ({
        text,
        k,
        filter,
        bare,
      }) =>
        Effect.gen(function* () {
          const query = parseKeywordQuery(text);
          if (!hasTerms(query)) return yield* emptyQuery();
          const found = yield* bm25Search(sql, {
            table: "arbor_documents",
            tenant,
            query,
            k,
            lexer,
            stats: yield* statsOf("arbor_documents"),
            frequencies: frequenciesOf("documents"),
            ...(filter && Object.keys(filter).length > 0
              ? { extra: (next) => `metadata @> ${next(JSON.stringify(filter))}::jsonb` }
              : {}),
          });
          if (found.length === 0) return [];
          if (bare) return found.map((h) => ({ documentId: h.id, metadata: {}, score: h.score }));
          const metadata = new Map(
            (yield* getDocuments(found.map((h) => h.id))).map((d) => [d.id, d.metadata]),
          );
          return found.map((h) => ({ documentId: h.id, metadata: metadata.get(h.id) ?? {}, score: h.score }));
        });

      const getChunks: VectorStoreService["getChunks"] = (ids) =>
        ids.length === 0
          ? Effect.succeed([])
          : Effect.map(
              sql.query<HitRow>(
                "SELECT id, document_id, text, metadata, 0 AS score FROM arbor_chunks WHERE tenant = $2 AND id = ANY($1::text[])",
                [ids, tenant],
              ),
              (rows) => rows.map(toHit),
            );

      const getDocuments: VectorStoreService["getDocuments"] = (ids) =>
        ids.length === 0
          ? Effect.succeed([])
          : sql.query<DocumentRecord>(
              "SELECT id, hash, metadata, chunks FROM arbor_documents WHERE tenant = $2 AND id = ANY($1::text[])",
              [ids, tenant],
            );

      const replaceDocuments: VectorStoreService["replaceDocuments"] = (documents) =>
        documents.length === 0
          ? Effect.void
          : sql.transaction(
              Effect.gen(function* () {
                const now = yield* Clock.currentTimeMillis;
                const ids = documents.map((d) => d.document.id);
                // What the documents replace: nothing, in a load of new ones (four statements saved).
                const held = (yield* sql.query<{ chunks: boolean; documents: boolean }>(
                  `SELECT EXISTS (SELECT 1 FROM arbor_chunks WHERE tenant = $2 AND document_id = ANY($1::text[])) AS chunks,
                          EXISTS (SELECT 1 FROM arbor_documents WHERE tenant = $2 AND id = ANY($1::text[])) AS documents`,
                  [ids, tenant],
                ))[0];
                if (held?.chunks !== false) {
                  yield* forgetTerms(sql, tenant, "chunks", "r.document_id = ANY($2::text[])", [ids]);
                  yield* sql.query(
                    "DELETE FROM arbor_chunks WHERE tenant = $2 AND document_id = ANY($1::text[])",
                    [ids, tenant],
                  );
                }
                if (held?.documents !== false)
                  yield* forgetTerms(sql, tenant, "documents", "r.id = ANY($2::text[])", [ids]);
                // The documents' words first: their passages' words are then all known (one query).
                const withText = documents.flatMap(({ document: d }) =>
                  d.text === undefined ? [] : [{ id: d.id, text: d.text.slice(0, DOCUMENT_TEXT_LIMIT) }],
                );
                const vectors = yield* lexer.vectors(withText.map((d) => d.text));
                const documentLexemes = new Map(
                  withText.map((d, i) => [d.id, fitTsvector(vectors[i]!)] as const),
                );
                yield* write(documents.flatMap((d) => d.chunks));
                yield* countTerms(sql, tenant, "documents", documentLexemes.values());
                yield* writeDocuments(
                  sql,
                  tenant,
                  documents.map((d) => d.document),
                  documentLexemes,
                  now,
                  held?.documents !== false,
                );
                yield* sql.exec("SELECT gin_clean_pending_list('arbor_documents_tsv'::regclass)");
                yield* documentsGrew(documents.length);
                yield* changed;
              }),
            );

      return {
        dimension,
        tenant,
        partition,
        upsert: (chunks) => sql.transaction(write(chunks)),
        getDocument: (id) => Effect.map(getDocuments([id]), (rows) => rows[0]),
        getDocuments,
        replaceDocument: (document, chunks) => replaceDocuments([{ document, chunks }]),
        replaceDocuments,
        deleteDocument: (id) =>
          sql.transaction(
            Effect.gen(function* () {
              yield* forgetTerms(sql, tenant, "chunks", "r.document_id = $2", [id]);
              yield* forgetTerms(sql, tenant, "documents", "r.id = $2", [id]);
              yield* sql.query("DELETE FROM arbor_chunks WHERE tenant = $2 AND document_id = $1", [
                id,
                tenant,
              ]);
              const gone = yield* sql.query(
                "DELETE FROM arbor_documents WHERE tenant = $2 AND id = $1 RETURNING id",
                [id, tenant],
              );
              yield* changed;
              return gone.length > 0;
            }),
          ),
        searchVector,
        searchExact,
        searchKeyword,
        searchKeywordDocuments,
        getChunks,
        claimEmbedder,
        upsertEntities: (entities) =>
          Effect.zipRight(
            Effect.forEach(entities, (e) => checkVector(e.embedding, `entity ${e.id}'s vector`), {
              discard: true,
            }),
            upsertEntityVectors(sql, tenant, entities),
          ),
        searchEntities: (query) =>
          Effect.zipRight(checkVector(query.vector, "query vector"), searchEntityVectors(sql, tenant, query)),
        count,
      };
    };
    return partition(DEFAULT_PARTITION);
  });

/** The vector store over whichever `SqlClient` is provided (PGlite or `pg`). */
export const layerSqlVectorStore = (
  options: VectorStoreOptions,
): Layer.Layer<VectorStore, StoreError | KnowledgeConfigError, SqlClient> =>
  Layer.effect(VectorStore, makeSqlVectorStore(options));
