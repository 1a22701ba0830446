/**
 * The `memory.*` methods as one table: name → params schema and handler. The WebSocket server
 * (and anything else that speaks the wire) calls `callMemoryMethod`; the agent tools are built
 * from the same table, so both always agree on shapes.
 */
import { Effect, ParseResult, Schema } from "effect";
import { KnowledgeInputError } from "./errors.ts";
import type { KnowledgeGraphService, MemoryError } from "./knowledge-graph.ts";
import {
  IngestManyParams,
  IngestParams,
  LineageParams,
  NeighborsParams,
  RecallParams,
  RelateParams,
  RememberParams,
  SearchParams,
  SimilarEntitiesParams,
} from "./wire.ts";

/** One method: its params schema, a one-line description (offered to models for tools), its handler. */
export interface MemoryMethod<A = unknown, I = unknown> {
  readonly params: Schema.Schema<A, I>;
  readonly description: string;
  readonly run: (kg: KnowledgeGraphService, params: A) => Effect.Effect<unknown, MemoryError>;
}

const method = <A, I>(m: MemoryMethod<A, I>): MemoryMethod<A, I> => m;

/** Every `memory.*` method, by wire name. */
export const memoryMethods = {
  "memory.remember": method({
    params: RememberParams,
    description:
      "Remember a fact: (entity, attribute) = value. A new value for a single-valued attribute replaces the old one (kept in history). Give ttlMs to forget it later.",
    run: (kg, p) => kg.remember(p),
  }),
  "memory.recall": method({
    params: RecallParams,
    description:
      "Recall the current facts about an entity (or one attribute); asOf gives them as they were at a time, history: true every value with its interval.",
    run: (kg, p) => kg.recall(p),
  }),
  "memory.relate": method({
    params: RelateParams,
    description: "Record a typed relation from one entity to another, e.g. (alice) -works_at-> (acme).",
    run: (kg, p) => kg.relate(p),
  }),
  "memory.neighbors": method({
    params: NeighborsParams,
    description: "The entities within depth hops of an entity, and the relations between them.",
    run: (kg, p) => kg.neighbors(p),
  }),
  "memory.ingest": method({
    params: IngestParams,
    description: "Add or update a text or Markdown document in the searchable knowledge base.",
    run: (kg, p) => kg.ingest(p),
  }),
  "memory.ingestMany": method({
    params: IngestManyParams,
    description:
      "Add or update up to 1,000 documents at once; one result per document, in order. Faster than one by one for a large load.",
    run: (kg, p) => kg.ingestMany(p),
  }),
  "memory.search": method({
    params: SearchParams,
    description:
      "Search the knowledge base: returns the passages that best match the query, with their document ids.",
    run: (kg, p) => kg.search(p),
  }),
  "memory.similarEntities": method({
    params: SimilarEntitiesParams,
    description:
      "Entities by meaning: those a text is about (query) or those like an entity (entity), optionally only of some types.",
    run: (kg, p) => kg.similarEntities(p),
  }),
  "memory.lineage": method({
    params: LineageParams,
    description: "Who spawned and supervised an agent, and who handed what to whom, with what result.",
    run: (kg, p) => kg.lineage(p),
  }),
} as const;

/** The wire names of the memory methods. */
export type MemoryMethodName = keyof typeof memoryMethods;

/** Whether `name` is a memory method. */
export const isMemoryMethod = (name: string): name is MemoryMethodName => Object.hasOwn(memoryMethods, name);

/** Decodes `params` with the method's schema; a mismatch is an `invalid_params` input error. */
export const decodeMemoryParams = <A, I>(m: MemoryMethod<A, I>, params: unknown) =>
  Schema.decodeUnknown(m.params, { errors: "all", onExcessProperty: "error" })(params).pipe(
    Effect.mapError(
      (error) =>
        new KnowledgeInputError({
          reason: "invalid_params",
          detail: ParseResult.TreeFormatter.formatErrorSync(error),
        }),
    ),
  );

/** Calls a memory method with unvalidated params (from the wire): validate, then run. */
export const callMemoryMethod = (
  kg: KnowledgeGraphService,
  name: MemoryMethodName,
  params: unknown,
): Effect.Effect<unknown, MemoryError> => {
  const m = memoryMethods[name] as MemoryMethod<unknown, unknown>;
  return Effect.flatMap(decodeMemoryParams(m, params), (decoded) => m.run(kg, decoded));
};
