/**
 * The HNSW index on chunk embeddings: its settings, their limits, and keeping the index built
 * with the configured ones.
 */
import { Effect } from "effect";
import { KnowledgeConfigError, type StoreError } from "./errors.ts";
import type { SqlClientService } from "./sql-client.ts";

/**
 * The chunk index's HNSW settings: `m` (links per node) and `efConstruction` (candidate list while
 * building) shape the index; `efSearch` (candidate list while searching, pgvector's
 * `hnsw.ef_search`) trades query time for recall.
 */
export interface HnswOptions {
  readonly m: number;
  readonly efConstruction: number;
  readonly efSearch: number;
}

/**
 * Defaults, measured on real text (`npm run bench -- --filter memory.retrieval.man`: 2,000 manual
 * pages, about 18,000 chunks, the default hashing embedder, PGlite, the bench's 200 queries):
 * pgvector's default graph (m 16): recall@10 against exact search 0.983 at ef_search 400, where
 * m 8 reached only 0.938 (its graph is too sparse for text vectors, less clustered than synthetic
 * data) and m 16 with ef_construction 40 0.976. The price is the build, in PGlite's
 * single-threaded WebAssembly most of a load: about twice m 8's (27 s against 13 s there), and a
 * k-10 search somewhat slower. On a Postgres server, which builds natively and in parallel,
 * `{m: 16, efConstruction: 64, efSearch: 100}` is a fine choice when a little recall may go for
 * speed.
 */
export const DEFAULT_HNSW: HnswOptions = { m: 16, efConstruction: 64, efSearch: 400 };

/** What is wrong with HNSW settings (pgvector's limits), or undefined. */
export const hnswProblem = (o: Partial<HnswOptions>): string | undefined => {
  const {
    m = DEFAULT_HNSW.m,
    efConstruction = DEFAULT_HNSW.efConstruction,
    efSearch = DEFAULT_HNSW.efSearch,
  } = o;
  const whole = (x: number, lo: number, hi: number) => Number.isInteger(x) && x >= lo && x <= hi;
  if (!whole(m, 2, 100)) return `hnsw.m is ${m}; it must be a whole number from 2 to 100`;
  if (!whole(efConstruction, 4, 1000))
    return `hnsw.efConstruction is ${efConstruction}; it must be a whole number from 4 to 1000`;
  if (efConstruction < 2 * m)
    return `hnsw.efConstruction (${efConstruction}) must be at least twice hnsw.m (${m})`;
  if (!whole(efSearch, 1, 1000)) return `efSearch is ${efSearch}; it must be a whole number from 1 to 1000`;
  return undefined;
};

/** The chunk index under one set of settings: build it, make sure it exists, tune searches. */
export interface ChunkIndex {
  /** Drops and builds the index (run it in a transaction). */
  readonly build: Effect.Effect<void, StoreError>;
  /** Builds the index if it is missing or was built with other settings. */
  readonly ensure: Effect.Effect<void, StoreError>;
  /** Whether the index exists (a bulk load drops it and leaves the build to the next search). */
  readonly present: Effect.Effect<boolean, StoreError>;
  /** Builds the index if it is missing, under a lock, so that two callers build it once. */
  readonly buildIfMissing: Effect.Effect<void, StoreError>;
  /** The configured candidate list of a search (`hnsw.ef_search`). */
  readonly efSearch: number;
  /**
   * The statements that set a session's (or a transaction's) search settings; `walk`: fewer
   * candidates than the configured `efSearch`, for a coarser search.
   */
  readonly searchSettings: (scope: "LOCAL" | "SESSION", walk?: number) => string;
}

/** Serialises deferred builds across processes sharing one Postgres. */
const BUILD_LOCK = 7_261_626_4;

/** The chunk index for `options` (defaults from `DEFAULT_HNSW`); fails on settings pgvector refuses. */
export const chunkIndex = (
  sql: SqlClientService,
  options: Partial<HnswOptions>,
): Effect.Effect<ChunkIndex, KnowledgeConfigError> => {
  const problem = hnswProblem(options);
  if (problem) return Effect.fail(new KnowledgeConfigError({ reason: "invalid_config", detail: problem }));
  const m = options.m ?? DEFAULT_HNSW.m;
  const efConstruction = options.efConstruction ?? DEFAULT_HNSW.efConstruction;
  const efSearch = options.efSearch ?? DEFAULT_HNSW.efSearch;
  const create = `CREATE INDEX IF NOT EXISTS arbor_chunks_embedding ON arbor_chunks
      USING hnsw (embedding vector_cosine_ops) WITH (m = ${m}, ef_construction = ${efConstruction})`;
  const build = sql.exec(`SET LOCAL maintenance_work_mem = '1GB';
    DROP INDEX IF EXISTS arbor_chunks_embedding; ${create}`);
  const present = Effect.map(
    sql.query<{ present: boolean }>("SELECT to_regclass('arbor_chunks_embedding') IS NOT NULL AS present"),
    (r) => r[0]?.present === true,
  );
  const buildIfMissing = sql.transaction(
    Effect.gen(function* () {
      yield* sql.query("SELECT pg_advisory_xact_lock($1)", [BUILD_LOCK]);
      if (yield* present) return;
      yield* sql.exec(`SET LOCAL maintenance_work_mem = '1GB'; ${create}`);
    }),
  );
  // An index built with other settings (an earlier default, another configuration) is rebuilt
  // once; on a large store that takes about as long as loading it did.
  const ensure = Effect.gen(function* () {
    const built = yield* sql.query<{ options: ReadonlyArray<string> | null }>(
      "SELECT reloptions AS options FROM pg_class WHERE oid = to_regclass('arbor_chunks_embedding')",
    );
    const wanted = [`ef_construction=${efConstruction}`, `m=${m}`].join();
    if (built[0]?.options?.toSorted().join() !== wanted) yield* sql.transaction(build);
  });
  return Effect.succeed({
    build,
    ensure,
    present,
    buildIfMissing,
    efSearch,
    searchSettings: (scope, walk = efSearch) =>
      `SET ${scope} hnsw.ef_search = ${Math.max(1, Math.min(efSearch, Math.floor(walk)))}; SET ${scope} hnsw.iterative_scan = relaxed_order`,
  });
};
