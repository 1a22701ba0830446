/**
 * Entities by meaning: every entity memory writes gets a vector of its name and type (by the
 * store's embedder), so `memory.similarEntities` finds the entities a text is about, or the ones
 * like a given entity, optionally of some types only. Memory's own bookkeeping nodes (documents,
 * chunks, episodes, agents) are not indexed.
 *
 * Gotcha: entities written before this index existed (migration 9) have no vector until they are
 * written again.
 */
import { Effect } from "effect";
import type { EmbedderService } from "./embedder.ts";
import { type EmbedError, KnowledgeInputError, type StoreError } from "./errors.ts";
import type { GraphNode, GraphStoreService } from "./graph-store.ts";
import { INTERNAL_TYPES } from "./internal/mentions.ts";
import type { VectorStoreService } from "./vector-store.ts";
import type { SimilarEntitiesParams, SimilarEntitiesResult } from "./wire.ts";

/** The text an entity is embedded by: its name, and its type unless that is the generic `entity`. */
export const entityText = (node: { readonly name: string; readonly type: string }): string =>
  node.type === "entity" ? node.name : `${node.name} (${node.type})`;

/** Embeds and stores the vectors of `nodes` (bookkeeping nodes left out). */
export const indexEntities = (
  vectors: VectorStoreService,
  embedder: EmbedderService,
  nodes: ReadonlyArray<GraphNode>,
): Effect.Effect<void, StoreError | EmbedError | KnowledgeInputError> =>
  Effect.gen(function* () {
    const entities = nodes.filter((n) => !INTERNAL_TYPES.has(n.type));
    if (entities.length === 0) return;
    const embeddings = yield* embedder.embed(entities.map(entityText));
    yield* vectors.upsertEntities(
      entities.map((n, i) => ({ id: n.id, type: n.type, name: n.name, embedding: embeddings[i]! })),
    );
  });

/** The entities most like a text or an entity, of `types` when given (the entity itself left out). */
export const similarEntities = (
  deps: {
    readonly graph: GraphStoreService;
    readonly vectors: VectorStoreService;
    readonly embedder: EmbedderService;
  },
  params: SimilarEntitiesParams,
): Effect.Effect<SimilarEntitiesResult, StoreError | EmbedError | KnowledgeInputError> =>
  Effect.gen(function* () {
    let text = params.query;
    if (params.entity !== undefined) {
      const [node] = yield* deps.graph.getNodes([params.entity]);
      if (!node)
        return yield* new KnowledgeInputError({
          reason: "unknown_entity",
          detail: `no entity with id ${JSON.stringify(params.entity)}`,
        });
      text = entityText(node);
    }
    const [vector] = yield* deps.embedder.embed([text ?? ""]);
    const entities = yield* deps.vectors.searchEntities({
      vector: vector!,
      k: params.k ?? 10,
      ...(params.types ? { types: params.types } : {}),
      ...(params.entity !== undefined ? { exclude: [params.entity] } : {}),
    });
    return { entities };
  });
