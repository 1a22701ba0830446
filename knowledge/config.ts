/**
 * Where memory lives, from the `knowledge` section of `arbor.config.json` and the environment.
 *
 * - Embedded default: one PGlite database in `dataDir` (default `./.arbor/data`, or
 *   `ARBOR_DATA_DIR`) holding the graph, the facts, the documents and the vectors.
 * - `ARBOR_PG_URL`: Postgres with pgvector instead of PGlite (graph tables too, unless Neo4j is set).
 * - `NEO4J_URI` (+ `NEO4J_USER`, default `neo4j`, and `NEO4J_PASSWORD`, required): the graph and
 *   facts in Neo4j; documents and vectors stay in Postgres/PGlite.
 */
import { resolve } from "node:path";
import { Either, Layer, ParseResult, Schema } from "effect";
import type { EventBus } from "../runtime/events.ts";
import type { ModelRouter } from "../runtime/model.ts";
import { type Embedder, layerHashingEmbedder, layerRouterEmbedder } from "./embedder.ts";
import { layerSentenceEmbedder } from "./embedder-sentence.ts";
import { layerStaticEmbedder } from "./embedder-static.ts";
import { KnowledgeConfigError, type KnowledgeError } from "./errors.ts";
import type { GraphStore } from "./graph-store.ts";
import { layerNeo4jGraphStore, type Neo4jOptions } from "./graph-store-neo4j.ts";
import { layerSqlGraphStore } from "./graph-store-sql.ts";
import { hnswProblem } from "./hnsw.ts";
import { type KnowledgeGraph, layerKnowledgeGraph } from "./knowledge-graph.ts";
import { layerPg, layerPglite, type SqlClient } from "./sql-client.ts";
import { layerSqlVectorStore, type VectorStore } from "./vector-store.ts";

/** The default data directory of the embedded database. */
export const DEFAULT_DATA_DIR = "./.arbor/data";

const PositiveInt = Schema.Number.pipe(Schema.int(), Schema.positive());

/**
 * The offline embedders, by name: `hashing` (lexical, the default; any dimension), `static` (a
 * table distilled from the Universal Sentence Encoder: semantic, as fast as hashing, 512 dims),
 * `sentence` (the Universal Sentence Encoder itself: the best sense of meaning, ~8 passages/s).
 */
export const OFFLINE_EMBEDDERS = {
  hashing: "lexical: shared words and word pieces",
  static: "semantic word pieces distilled from the Universal Sentence Encoder, fast",
  sentence: "the Universal Sentence Encoder (lite), semantic, slow to ingest",
} as const;

/** The name of an offline embedder. */
export const OfflineEmbedderName = Schema.Literal("hashing", "static", "sentence");
export type OfflineEmbedderName = typeof OfflineEmbedderName.Type;

/** The `knowledge` section of `arbor.config.json` (every field optional). */
export const KnowledgeSection = Schema.Struct({
  dataDir: Schema.optional(Schema.String),
  efSearch: Schema.optional(PositiveInt),
  /** Build settings of the chunk index (defaults in `DEFAULT_HNSW`); changing them rebuilds it. */
  hnsw: Schema.optional(
    Schema.Struct({ m: Schema.optional(PositiveInt), efConstruction: Schema.optional(PositiveInt) }),
  ),
  multiValued: Schema.optional(Schema.Array(Schema.String)),
  singleValuedRelations: Schema.optional(Schema.Array(Schema.String)),
  workingMemory: Schema.optional(
    Schema.Struct({ capacity: Schema.optional(PositiveInt), maxTtlMs: Schema.optional(PositiveInt) }),
  ),
  chunking: Schema.optional(
    Schema.Struct({
      maxChars: Schema.optional(PositiveInt),
      overlapChars: Schema.optional(Schema.NonNegativeInt),
    }),
  ),
  /**
   * Which embedder makes the vectors: an offline one by name (`OFFLINE_EMBEDDERS`; absent means
   * `hashing`), or provider embeddings through the router.
   */
  embedder: Schema.optional(
    Schema.Union(
      OfflineEmbedderName,
      Schema.Struct({
        provider: Schema.optional(Schema.String),
        model: Schema.optional(Schema.String),
        profile: Schema.optional(Schema.String),
        dimension: PositiveInt,
      }),
    ),
  ),
  /** The model `memory.answer` and `arbor memory ask` use (default: the `balanced` routing profile). */
  answer: Schema.optional(
    Schema.Struct({
      provider: Schema.optional(Schema.String),
      model: Schema.optional(Schema.String),
      profile: Schema.optional(Schema.String),
    }),
  ),
  /** Dimension of the offline hashing embedder (default 384). */
  dimension: Schema.optional(PositiveInt),
});
export type KnowledgeSection = typeof KnowledgeSection.Type;

/** Resolved memory configuration. */
export interface KnowledgeConfig {
  readonly section: KnowledgeSection;
  /** Absolute path of the embedded database (used when `pgUrl` is absent). */
  readonly dataDir: string;
  readonly pgUrl?: string;
  readonly neo4j?: Neo4jOptions;
  readonly dimension: number;
}

/** The dimension the configured embedder makes. */
const embedderDimension = (s: KnowledgeSection): number => {
  const e = s.embedder;
  if (typeof e === "object") return e.dimension;
  if (e === "static" || e === "sentence") return 512;
  return s.dimension ?? 384;
};

/** Reads the configuration: the `knowledge` section (unvalidated) and the environment. */
export const knowledgeConfig = (
  section: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Either.Either<KnowledgeConfig, KnowledgeConfigError> => {
  const decoded = Schema.decodeUnknownEither(KnowledgeSection, { errors: "all", onExcessProperty: "error" })(
    section ?? {},
  );
  if (Either.isLeft(decoded)) {
    return Either.left(
      new KnowledgeConfigError({
        reason: "invalid_config",
        detail: `knowledge section: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`,
      }),
    );
  }
  const s = decoded.right;
  const hnsw = { ...s.hnsw, ...(s.efSearch ? { efSearch: s.efSearch } : {}) };
  const problem = hnswProblem(hnsw);
  if (problem) {
    return Either.left(
      new KnowledgeConfigError({ reason: "invalid_config", detail: `knowledge section: ${problem}` }),
    );
  }
  const uri = env.NEO4J_URI?.trim();
  if (uri && !env.NEO4J_PASSWORD) {
    return Either.left(
      new KnowledgeConfigError({
        reason: "invalid_config",
        detail: "NEO4J_URI is set but NEO4J_PASSWORD is not",
      }),
    );
  }
  const pgUrl = env.ARBOR_PG_URL?.trim();
  return Either.right({
    section: s,
    dataDir: resolve(s.dataDir ?? env.ARBOR_DATA_DIR ?? DEFAULT_DATA_DIR),
    ...(pgUrl ? { pgUrl } : {}),
    ...(uri
      ? { neo4j: { uri, user: env.NEO4J_USER?.trim() || "neo4j", password: env.NEO4J_PASSWORD ?? "" } }
      : {}),
    dimension: embedderDimension(s),
  });
};

/** One line for the CLI: which stores and embedder are in use (never a password). */
export const describeKnowledge = (config: KnowledgeConfig): string => {
  const sql = config.pgUrl
    ? `Postgres at ${config.pgUrl.replace(/\/\/[^@/]*@/, "//***@")}`
    : `embedded PGlite at ${config.dataDir}`;
  const graph = config.neo4j ? `graph in Neo4j at ${config.neo4j.uri}` : "graph in the same database";
  const e = config.section.embedder ?? "hashing";
  const embedder =
    typeof e === "object"
      ? `embedder ${e.provider ?? e.profile ?? "default"}/${e.model ?? "default"} (${e.dimension} dims, via the model router)`
      : `offline ${e} embedder (${config.dimension} dims, ${OFFLINE_EMBEDDERS[e]})`;
  return `memory: ${sql} (documents, vectors, facts), ${graph}, ${embedder}`;
};

/** Every memory service `layerKnowledge` provides. */
export type KnowledgeServices = KnowledgeGraph | GraphStore | VectorStore | Embedder | SqlClient;

/**
 * All memory services from a configuration. `router` is required when the configuration names
 * provider embeddings; `events` makes every write publish `memory.written`.
 */
export const layerKnowledge = (
  config: KnowledgeConfig,
  deps: { readonly router?: ModelRouter; readonly events?: EventBus } = {},
): Layer.Layer<KnowledgeServices, KnowledgeError> => {
  const s = config.section;
  if (typeof s.embedder === "object" && !deps.router) {
    // Fail before opening any database: nothing can work without the embedder.
    return Layer.fail(
      new KnowledgeConfigError({
        reason: "invalid_config",
        detail: "knowledge.embedder names provider embeddings but no model router was given",
      }),
    );
  }
  const sql = config.pgUrl ? layerPg({ url: config.pgUrl }) : layerPglite({ dataDir: config.dataDir });
  const vectors = layerSqlVectorStore({
    dimension: config.dimension,
    ...s.hnsw,
    ...(s.efSearch ? { efSearch: s.efSearch } : {}),
  });
  const graph = config.neo4j ? layerNeo4jGraphStore(config.neo4j) : layerSqlGraphStore;
  const e = s.embedder;
  const embedder: Layer.Layer<Embedder, KnowledgeConfigError> =
    typeof e === "object" && deps.router
      ? layerRouterEmbedder({
          router: deps.router,
          choice: {
            ...(e.provider ? { provider: e.provider } : {}),
            ...(e.model ? { model: e.model } : {}),
            ...(e.profile ? { profile: e.profile } : {}),
          },
          dimension: e.dimension,
        })
      : e === "static"
        ? layerStaticEmbedder
        : e === "sentence"
          ? layerSentenceEmbedder
          : layerHashingEmbedder({ dimension: config.dimension });
  const stores = Layer.mergeAll(vectors, graph, embedder).pipe(Layer.provideMerge(sql));
  const kg = layerKnowledgeGraph({
    ...(s.multiValued ? { multiValued: s.multiValued } : {}),
    ...(s.singleValuedRelations ? { singleValuedRelations: s.singleValuedRelations } : {}),
    ...(s.workingMemory ? { workingMemory: s.workingMemory } : {}),
    ...(s.chunking ? { chunking: s.chunking } : {}),
    ...(deps.events ? { events: deps.events } : {}),
  });
  return kg.pipe(Layer.provideMerge(stores));
};
