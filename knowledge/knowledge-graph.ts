/**
 * `KnowledgeGraph`: the agents' memory. Entities, typed relations with validity intervals, facts in
 * two tiers (working memory in process, long-term in the stores), episodes, agent lineage, and RAG
 * over documents — on whichever `GraphStore`, `VectorStore` and `Embedder` are provided.
 *
 * Its `memory.*` operations take and return the wire shapes in `wire.ts`.
 */
import { Clock, Context, Effect, Layer } from "effect";
import type { EventBus } from "../runtime/events.ts";
import { withSpan } from "../runtime/tracing.ts";
import type { ChunkOptions } from "./chunker.ts";
import { Embedder, type EmbedderService, hashingVersionOf, makeHashingEmbedder } from "./embedder.ts";
import { indexEntities, similarEntities } from "./entities.ts";
import { type EmbedError, KnowledgeConfigError, KnowledgeInputError, type StoreError } from "./errors.ts";
import {
  DEFAULT_PARTITION,
  type GraphEdge,
  type GraphNode,
  type GraphPath,
  GraphStore,
  type GraphStoreService,
  MAX_DEPTH,
} from "./graph-store.ts";
import { makeFactOps } from "./internal/facts.ts";
import { lineageOf } from "./internal/lineage-query.ts";
import { findMentions } from "./internal/mentions.ts";
import { ingestDocuments } from "./rag/ingest.ts";
import { searchChunks } from "./rag/retrieve.ts";
import { VectorStore, type VectorStoreService } from "./vector-store.ts";
import type {
  IngestManyParams,
  IngestManyResult,
  IngestParams,
  IngestResult,
  LineageParams,
  LineageResult,
  NeighborsParams,
  NeighborsResult,
  RecallParams,
  RecallResult,
  RelateParams,
  RelateResult,
  RememberParams,
  RememberResult,
  SearchParams,
  SearchResult,
  SimilarEntitiesParams,
  SimilarEntitiesResult,
  WireEdge,
} from "./wire.ts";
import { makeWorkingMemory } from "./working-memory.ts";

/** Every failure of a memory operation. */
export type MemoryError = KnowledgeInputError | StoreError | EmbedError;

/** The lineage relation types, written from the runtime's event stream. */
export const LINEAGE_TYPES = ["spawned_by", "supervised_by", "handed_off_to"] as const;

/** The node id of an agent in the graph: `agent:<address>`. */
export const agentNodeId = (address: string): string => `agent:${address}`;

/** An episode: something an agent said or did, linked to it and to the entities it mentions. */
export interface EpisodeInput {
  readonly id: string;
  readonly kind: "message" | "tool_result" | "handoff";
  readonly agent: { readonly tree: string; readonly address: string; readonly id: string };
  readonly text: string;
  readonly time: number;
  readonly properties?: Readonly<Record<string, unknown>>;
}

/**
 * The memory service, confined to one tenant's partition (facts, entities, relations, episodes,
 * lineage, documents and chunks of other partitions are invisible to it and untouched by it).
 */
export interface KnowledgeGraphService {
  /** The partition this service reads and writes (`DEFAULT_PARTITION` is the operator's). */
  readonly tenant: string;
  /** The same memory confined to `tenant`'s partition (its own working memory included). */
  readonly partition: (tenant: string) => KnowledgeGraphService;
  readonly remember: (params: RememberParams) => Effect.Effect<RememberResult, MemoryError>;
  readonly recall: (params: RecallParams) => Effect.Effect<RecallResult, MemoryError>;
  /** Closes the current facts of an entity (one attribute or all), in both tiers. */
  readonly forget: (params: {
    readonly entity: string;
    readonly attribute?: string;
  }) => Effect.Effect<{ readonly forgotten: number }, MemoryError>;
  readonly relate: (params: RelateParams) => Effect.Effect<RelateResult, MemoryError>;
  readonly neighbors: (params: NeighborsParams) => Effect.Effect<NeighborsResult, MemoryError>;
  readonly paths: (params: {
    readonly from: string;
    readonly to: string;
    readonly maxDepth?: number;
    readonly asOf?: number;
  }) => Effect.Effect<{ readonly paths: ReadonlyArray<GraphPath> }, MemoryError>;
  readonly entity: (id: string) => Effect.Effect<GraphNode, MemoryError>;
  /** Creates or updates an entity (name defaults to the id). */
  readonly upsertEntity: (entity: {
    readonly id: string;
    readonly type: string;
    readonly name?: string;
    readonly properties?: Readonly<Record<string, unknown>>;
  }) => Effect.Effect<GraphNode, MemoryError>;
  readonly recordEpisode: (episode: EpisodeInput) => Effect.Effect<void, MemoryError>;
  readonly ingest: (params: IngestParams) => Effect.Effect<IngestResult, MemoryError>;
  /** Ingests several documents as one batch (a large load takes the vector store's bulk path). */
  readonly ingestMany: (params: IngestManyParams) => Effect.Effect<IngestManyResult, MemoryError>;
  readonly search: (params: SearchParams) => Effect.Effect<SearchResult, MemoryError>;
  readonly lineage: (params: LineageParams) => Effect.Effect<LineageResult, MemoryError>;
  /** Entities by meaning (a text, or like an entity), optionally of some types. */
  readonly similarEntities: (
    params: SimilarEntitiesParams,
  ) => Effect.Effect<SimilarEntitiesResult, MemoryError>;
  /** The known entities a text names (exact names, ignoring case). */
  readonly mentionedEntities: (text: string) => Effect.Effect<ReadonlyArray<GraphNode>, MemoryError>;
}

/** The memory service tag. */
export class KnowledgeGraph extends Context.Tag("arbor/knowledge/KnowledgeGraph")<
  KnowledgeGraph,
  KnowledgeGraphService
>() {}

/** Settings of the memory model. */
export interface KnowledgeGraphOptions {
  /** Attributes that hold several values at once (a new value does not supersede the others). */
  readonly multiValued?: ReadonlyArray<string>;
  /** Relation types with one current target per source (default: `spawned_by`, `supervised_by`). */
  readonly singleValuedRelations?: ReadonlyArray<string>;
  /** Working memory: at most `capacity` facts; a `ttlMs` up to `maxTtlMs` (default 15 min) stays in process. */
  readonly workingMemory?: { readonly capacity?: number; readonly maxTtlMs?: number };
  readonly chunking?: ChunkOptions;
  /** When given, every write publishes `memory.written`. */
  readonly events?: EventBus;
}

const unknownEntity = (id: string) =>
  new KnowledgeInputError({ reason: "unknown_entity", detail: `no entity with id ${JSON.stringify(id)}` });

const wireEdge = (e: GraphEdge): WireEdge => ({ ...e });

/** Makes the memory service on the provided stores and embedder. */
export const makeKnowledgeGraph = (
  options: KnowledgeGraphOptions = {},
): Effect.Effect<
  KnowledgeGraphService,
  KnowledgeConfigError | StoreError,
  GraphStore | VectorStore | Embedder
> =>
  Effect.gen(function* () {
    const graph = yield* GraphStore;
    const vectors = yield* VectorStore;
    const configured = yield* Embedder;
    if (configured.dimension !== vectors.dimension) {
      return yield* new KnowledgeConfigError({
        reason: "dimension_mismatch",
        detail: `embedder ${configured.name} makes ${configured.dimension}-dimensional vectors but the vector store holds ${vectors.dimension}`,
      });
    }
    // A store an older version of the offline hashing embedder filled stays on that version (its
    // vectors are never mixed with the newer one's); every other embedder must match the store's.
    const hashingNamed = (name: string): EmbedderService | undefined => {
      const version = hashingVersionOf(name);
      return version === undefined
        ? undefined
        : makeHashingEmbedder({ dimension: configured.dimension, version });
    };
    const keepsOlderHashing =
      hashingVersionOf(configured.name) === undefined
        ? undefined
        : (recorded: string) => hashingNamed(recorded)?.name === recorded;
    const claimed = yield* vectors.claimEmbedder(configured.name, keepsOlderHashing);
    const embedder = claimed === configured.name ? configured : hashingNamed(claimed)!;
    const partitions = new Map<string, KnowledgeGraphService>();
    const partition = (tenant: string): KnowledgeGraphService => {
      const known = partitions.get(tenant);
      if (known) return known;
      const made = makePartition(
        options,
        graph.partition(tenant),
        vectors.partition(tenant),
        embedder,
        partition,
      );
      partitions.set(tenant, made);
      return made;
    };
    return partition(DEFAULT_PARTITION);
  });

/** The memory service of one partition, over stores confined to it. */
const makePartition = (
  options: KnowledgeGraphOptions,
  graph: GraphStoreService,
  vectors: VectorStoreService,
  embedder: EmbedderService,
  partition: (tenant: string) => KnowledgeGraphService,
): KnowledgeGraphService => {
  const multi = new Set(options.multiValued ?? []);
  const single = new Set(options.singleValuedRelations ?? ["spawned_by", "supervised_by"]);
  const working = makeWorkingMemory(options.workingMemory ?? {});
  const maxWorkingTtl = options.workingMemory?.maxTtlMs ?? 15 * 60_000;
  const written = (kind: "fact" | "relation" | "entity" | "episode" | "document", key: string) =>
    options.events
      ? options.events.publish({ type: "memory.written", tree: "", address: "/", id: "memory", kind, key })
      : Effect.void;

  const requireNode = (id: string) =>
    Effect.flatMap(graph.getNodes([id]), (nodes) =>
      nodes[0] ? Effect.succeed(nodes[0]) : Effect.fail(unknownEntity(id)),
    );
  /** Creates a plain entity for an id nobody declared yet (remember/relate may name new things). */
  const ensureNodes = (ids: ReadonlyArray<string>, now: number) =>
    Effect.gen(function* () {
      const known = new Set((yield* graph.getNodes(ids)).map((n) => n.id));
      const missing = [...new Set(ids)]
        .filter((id) => !known.has(id))
        .map((id) => ({ id, type: "entity", name: id, properties: {} }));
      yield* graph.upsertNodes(missing, now);
      yield* indexEntities(vectors, embedder, missing);
    });

  const ingestMany = (documents: ReadonlyArray<IngestParams>) =>
    Effect.tap(
      ingestDocuments({ graph, vectors, embedder, chunking: options.chunking ?? {} }, documents),
      (results) =>
        Effect.forEach(results, (r) => (r.changed ? written("document", r.documentId) : Effect.void), {
          discard: true,
        }),
    );

  const service: KnowledgeGraphService = {
    tenant: graph.tenant,
    partition,
    ...makeFactOps({ graph, working, multi, maxWorkingTtl, written, requireNode, ensureNodes }),
    relate: ({ from, to, type, properties }) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis;
        yield* ensureNodes([from, to], now);
        const { edge, closed } = yield* graph.relate({
          from,
          to,
          type,
          properties: properties ?? {},
          time: now,
          cardinality: single.has(type) ? "one" : "many",
        });
        yield* written("relation", `${from}-${type}->${to}`);
        return { edge: wireEdge(edge), closed };
      }),
    neighbors: ({ id, depth, types, asOf }) =>
      Effect.gen(function* () {
        yield* requireNode(id);
        const now = yield* Clock.currentTimeMillis;
        const sub = yield* graph.neighbors({
          id,
          depth: depth ?? 1,
          ...(types ? { types } : {}),
          asOf: asOf ?? now,
        });
        return { nodes: sub.nodes, edges: sub.edges.map(wireEdge) };
      }),
    paths: ({ from, to, maxDepth, asOf }) =>
      Effect.gen(function* () {
        yield* requireNode(from);
        yield* requireNode(to);
        const now = yield* Clock.currentTimeMillis;
        const depth = Math.min(MAX_DEPTH, Math.max(1, Math.floor(maxDepth ?? 4)));
        return { paths: yield* graph.paths({ from, to, maxDepth: depth, limit: 5, asOf: asOf ?? now }) };
      }),
    entity: requireNode,
    upsertEntity: ({ id, type, name, properties }) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis;
        const node = { id, type, name: name ?? id, properties: properties ?? {} };
        yield* graph.upsertNodes([node], now);
        yield* indexEntities(vectors, embedder, [node]);
        yield* written("entity", id);
        return node;
      }),
    recordEpisode: (episode) =>
      Effect.gen(function* () {
        const agentId = agentNodeId(episode.agent.address);
        // The agent's node, as lineage writes it, when lineage has not yet (never a plain entity).
        if ((yield* graph.getNodes([agentId])).length === 0)
          yield* graph.upsertNodes(
            [
              {
                id: agentId,
                type: "agent",
                name: episode.agent.address,
                properties: { agentId: episode.agent.id, tree: episode.agent.tree },
              },
            ],
            episode.time,
          );
        yield* graph.upsertNodes(
          [
            {
              id: episode.id,
              type: "episode",
              name: episode.kind,
              properties: {
                kind: episode.kind,
                text: episode.text.slice(0, 4000),
                tree: episode.agent.tree,
                address: episode.agent.address,
                agentId: episode.agent.id,
                time: episode.time,
                ...episode.properties,
              },
            },
          ],
          episode.time,
        );
        yield* graph.relate({
          from: episode.id,
          to: agentId,
          type: "produced_by",
          properties: {},
          time: episode.time,
          cardinality: "one",
        });
        const [mentioned] = yield* findMentions(graph, [episode.text]);
        for (const entity of mentioned ?? []) {
          yield* graph.relate({
            from: episode.id,
            to: entity.id,
            type: "mentions",
            properties: {},
            time: episode.time,
            cardinality: "many",
          });
        }
        yield* written("episode", episode.id);
      }),
    ingest: (params) =>
      Effect.map(ingestMany([params]), (results) => results[0]!).pipe(
        withSpan("memory.ingest", () => ({ "arbor.memory.documents": 1 })),
      ),
    ingestMany: ({ documents }) =>
      Effect.map(ingestMany(documents), (results) => ({ results })).pipe(
        withSpan("memory.ingest", () => ({ "arbor.memory.documents": documents.length })),
      ),
    search: (params) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        searchChunks({ graph, vectors, embedder }, params, now),
      ).pipe(
        withSpan("memory.search", () => ({
          "arbor.memory.k": params.k ?? 0,
          "arbor.memory.mode": params.mode ?? "hybrid",
        })),
      ),
    lineage: ({ agent }) => lineageOf(graph, requireNode, agent),
    similarEntities: (params) => similarEntities({ graph, vectors, embedder }, params),
    mentionedEntities: (text) =>
      Effect.map(findMentions(graph, [text]), ([found]) => [
        ...new Map((found ?? []).map((n) => [n.id, n])).values(),
      ]),
  };
  return service;
};

/** The memory service as a layer over the stores and embedder. */
export const layerKnowledgeGraph = (
  options: KnowledgeGraphOptions = {},
): Layer.Layer<KnowledgeGraph, KnowledgeConfigError | StoreError, GraphStore | VectorStore | Embedder> =>
  Layer.effect(KnowledgeGraph, makeKnowledgeGraph(options));
