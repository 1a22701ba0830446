/**
 * Arbor's memory: a knowledge graph with vectors, on one embedded PGlite by default, or on
 * Postgres + pgvector and Neo4j in production. See docs/knowledge.md.
 */
export {
  type AnswerDeps,
  AnswerParams,
  type AnswerResult,
  answerQuestion,
  DEFAULT_ANSWER_MODEL,
} from "./answer.ts";
export { type ChunkOptions, chunkText, type TextChunk } from "./chunker.ts";
export {
  DEFAULT_DATA_DIR,
  describeKnowledge,
  type KnowledgeConfig,
  KnowledgeSection,
  type KnowledgeServices,
  knowledgeConfig,
  layerKnowledge,
  OFFLINE_EMBEDDERS,
  OfflineEmbedderName,
} from "./config.ts";
export {
  Embedder,
  type EmbedderService,
  hashingVector,
  layerHashingEmbedder,
  layerRouterEmbedder,
  makeHashingEmbedder,
  makeRouterEmbedder,
  type RouterEmbedderOptions,
} from "./embedder.ts";
export {
  layerSentenceEmbedder,
  makeSentenceEmbedder,
  SENTENCE_EMBEDDER_NAME,
} from "./embedder-sentence.ts";
export { layerStaticEmbedder, makeStaticEmbedder, STATIC_EMBEDDER_NAME } from "./embedder-static.ts";
export { entityText } from "./entities.ts";
export {
  EmbedError,
  KnowledgeConfigError,
  type KnowledgeError,
  KnowledgeInputError,
  StoreError,
} from "./errors.ts";
export {
  DEFAULT_PARTITION,
  type Fact,
  type GraphEdge,
  type GraphNode,
  type GraphPath,
  GraphStore,
  type GraphStoreService,
  MAX_DEPTH,
  type Subgraph,
} from "./graph-store.ts";
export { layerNeo4jGraphStore, makeNeo4jGraphStore, type Neo4jOptions } from "./graph-store-neo4j.ts";
export { layerSqlGraphStore, makeSqlGraphStore } from "./graph-store-sql.ts";
export { DEFAULT_HNSW, type HnswOptions } from "./hnsw.ts";
export { layerSqlKeyStateStore, makeSqlKeyStateStore } from "./key-state-sql.ts";
export {
  agentNodeId,
  type EpisodeInput,
  KnowledgeGraph,
  type KnowledgeGraphOptions,
  type KnowledgeGraphService,
  LINEAGE_TYPES,
  layerKnowledgeGraph,
  type MemoryError,
  makeKnowledgeGraph,
} from "./knowledge-graph.ts";
export { type LineageWriter, startLineage } from "./lineage.ts";
export {
  callMemoryMethod,
  decodeMemoryParams,
  isMemoryMethod,
  type MemoryMethod,
  type MemoryMethodName,
  memoryMethods,
} from "./methods.ts";
export { migrate, migrations } from "./migrations.ts";
export { OPERATOR_TENANTS, partitionFor } from "./partition.ts";
export {
  type BuiltContext,
  buildContext,
  type Citation,
  type ContextRequest,
  DEFAULT_RAG_SYSTEM,
  estimateTokens,
  type FactCitation,
  generateWithContext,
} from "./rag/context.ts";
export {
  DEFAULT_FUSION,
  type Fused,
  type FusionWeights,
  fuseByScore,
  type Retriever,
  type Scored,
} from "./rag/fusion.ts";
export { type RetrieveOptions, searchChunks } from "./rag/retrieve.ts";
export { MemorySettings, makeRecallRunner, memorySection, RecallSettings } from "./recall.ts";
export {
  layerPg,
  layerPglite,
  makePgliteClient,
  openPglite,
  type PgOptions,
  SqlClient,
  type SqlClientService,
} from "./sql-client.ts";
export {
  MEMORY_TOOL_NAMES,
  type MemoryPluginOptions,
  makeMemoryPlugin,
  memoryPlugin,
  memoryTool,
  memoryTools,
} from "./tools.ts";
export { layerSqlUsageLedger, makeSqlUsageLedger } from "./usage-ledger-sql.ts";
export {
  type ChunkHit,
  type ChunkRecord,
  type DocumentRecord,
  layerSqlVectorStore,
  type MetadataFilter,
  makeSqlVectorStore,
  VectorStore,
  type VectorStoreOptions,
  type VectorStoreService,
} from "./vector-store.ts";
export * from "./wire.ts";
