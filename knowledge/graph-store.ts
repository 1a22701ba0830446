/**
 * `GraphStore`: the port for entities, typed relations with validity intervals, and facts with
 * history. Adapters: SQL (node/edge/fact tables, recursive CTEs) for PGlite and `pg`, and Neo4j.
 *
 * Time is always passed in by the caller (from Effect's Clock), so adapters never read a clock and
 * `asOf` queries are exact. An interval is `[validFrom, validTo)`; `validTo: null` means current.
 */
import { Context, type Effect } from "effect";
import type { StoreError } from "./errors.ts";

/** A node: an entity, an agent, an episode, a document or a chunk (`type` says which). */
export interface GraphNode {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly properties: Readonly<Record<string, unknown>>;
}

/** A typed, directed relation. `id` is the store's own. */
export interface GraphEdge {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly type: string;
  readonly properties: Readonly<Record<string, unknown>>;
  readonly validFrom: number;
  readonly validTo: number | null;
}

/** One value of an entity's attribute, with its validity interval. */
export interface Fact {
  readonly entity: string;
  readonly attribute: string;
  readonly value: unknown;
  readonly validFrom: number;
  readonly validTo: number | null;
  readonly expiresAt: number | null;
}

/** A subgraph: nodes and the edges between them. */
export interface Subgraph {
  readonly nodes: ReadonlyArray<GraphNode>;
  readonly edges: ReadonlyArray<GraphEdge>;
}

/** A path from one node to another: node ids in order, and the edges walked. */
export interface GraphPath {
  readonly nodes: ReadonlyArray<string>;
  readonly edges: ReadonlyArray<GraphEdge>;
}

/** The operator's partition: memory written without a tenant, and where earlier data lives. */
export const DEFAULT_PARTITION = "";

/** The deepest traversal any adapter accepts (Neo4j needs the bound as a literal). */
export const MAX_DEPTH = 5;

/**
 * The graph port, confined to one tenant's partition: no read, walk or write of one partition
 * sees or touches another's nodes, edges or facts (ids may repeat across partitions).
 */
export interface GraphStoreService {
  /** The partition this service reads and writes (`DEFAULT_PARTITION` is the operator's). */
  readonly tenant: string;
  /** The same store confined to `tenant`'s partition. */
  readonly partition: (tenant: string) => GraphStoreService;
  /** Creates nodes or replaces their type, name and properties. */
  readonly upsertNodes: (nodes: ReadonlyArray<GraphNode>, time: number) => Effect.Effect<void, StoreError>;
  readonly getNodes: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<GraphNode>, StoreError>;
  /** Nodes whose name equals one of `names`, ignoring case. */
  readonly findByName: (names: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<GraphNode>, StoreError>;
  /**
   * The distinct lower-cased names of the partition's nodes not of `excludeTypes`, or `undefined`
   * when there are more than `limit` (then look names up with `findByName`). Lets a bulk load find
   * mentions in memory instead of looking up every word run of every passage.
   */
  readonly namesUpTo: (
    limit: number,
    excludeTypes: ReadonlyArray<string>,
  ) => Effect.Effect<ReadonlyArray<string> | undefined, StoreError>;
  /** Nodes of `type` whose property `key` equals `value` (a string). */
  readonly findByProperty: (
    type: string,
    key: string,
    value: string,
  ) => Effect.Effect<ReadonlyArray<GraphNode>, StoreError>;
  /** Removes nodes with their edges. */
  readonly deleteNodes: (ids: ReadonlyArray<string>) => Effect.Effect<void, StoreError>;
  /**
   * Adds a relation valid from `time`. When `cardinality` is `"one"`, current relations of the same
   * type from the same node to another node are closed at `time` (history keeps them). An
   * identical current relation is reused (its properties updated), so relating twice is idempotent —
   * except with `"event"`, which always adds a relation (one per occurrence, e.g. each handoff).
   */
  readonly relate: (input: {
    readonly from: string;
    readonly to: string;
    readonly type: string;
    readonly properties: Readonly<Record<string, unknown>>;
    readonly time: number;
    readonly cardinality: "one" | "many" | "event";
  }) => Effect.Effect<{ readonly edge: GraphEdge; readonly closed: number }, StoreError>;
  /** Merges `properties` into an edge's properties. */
  readonly updateEdge: (
    id: string,
    properties: Readonly<Record<string, unknown>>,
  ) => Effect.Effect<void, StoreError>;
  /** Nodes within `depth` hops (either direction) of `id`, walking only `types` when given, valid at `asOf`. */
  readonly neighbors: (query: {
    readonly id: string;
    readonly depth: number;
    readonly types?: ReadonlyArray<string>;
    readonly asOf: number;
  }) => Effect.Effect<Subgraph, StoreError>;
  /** Up to `limit` shortest paths (either direction) from `from` to `to`, at most `maxDepth` hops. */
  readonly paths: (query: {
    readonly from: string;
    readonly to: string;
    readonly maxDepth: number;
    readonly limit: number;
    readonly asOf: number;
  }) => Effect.Effect<ReadonlyArray<GraphPath>, StoreError>;
  /** Edges touching `ids` in the given direction, of `types` when given; current at `asOf` unless `asOf` is absent (all history). */
  readonly edgesOf: (query: {
    readonly ids: ReadonlyArray<string>;
    readonly direction: "out" | "in" | "both";
    readonly types?: ReadonlyArray<string>;
    readonly asOf?: number;
  }) => Effect.Effect<ReadonlyArray<GraphEdge>, StoreError>;
  /** Every edge of `types` (all history) connected to `id` through edges of those types: a whole family tree. */
  readonly connected: (query: {
    readonly id: string;
    readonly types: ReadonlyArray<string>;
  }) => Effect.Effect<ReadonlyArray<GraphEdge>, StoreError>;
  /**
   * Records a value of (entity, attribute) valid from `time`. Unless `multi`, a current value that
   * differs is closed at `time`. An identical current value is kept (idempotent).
   */
  readonly setFact: (input: {
    readonly entity: string;
    readonly attribute: string;
    readonly value: unknown;
    readonly time: number;
    readonly multi: boolean;
    readonly expiresAt: number | null;
  }) => Effect.Effect<{ readonly superseded: number; readonly written: boolean }, StoreError>;
  /** Facts of an entity: those valid and not expired at `asOf`, or every one when `history`. */
  readonly facts: (query: {
    readonly entity: string;
    readonly attribute?: string;
    readonly asOf: number;
    readonly history: boolean;
  }) => Effect.Effect<ReadonlyArray<Fact>, StoreError>;
  /** Closes the current facts of an entity (one attribute or all) at `time`; returns how many. */
  readonly forget: (input: {
    readonly entity: string;
    readonly attribute?: string;
    readonly time: number;
  }) => Effect.Effect<number, StoreError>;
}

/** The graph store service. */
export class GraphStore extends Context.Tag("arbor/knowledge/GraphStore")<GraphStore, GraphStoreService>() {}
