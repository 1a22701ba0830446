/**
 * The `memory.*` operations on the wire: param schemas (Effect Schema, also the JSON Schema given
 * to models as tool inputs) and result shapes. The names and shapes are the contract the
 * WebSocket server and the agent tools share.
 */

import { Schema } from "effect";
import type { GraphEdge } from "./graph-store.ts";
import { MAX_DEPTH } from "./graph-store.ts";

const Id = Schema.String.pipe(Schema.trimmed(), Schema.minLength(1), Schema.maxLength(512));
const Time = Schema.Number.pipe(Schema.finite(), Schema.nonNegative());
/** A JSON value (not `undefined`, not a function). */
const JsonValue = Schema.Unknown.pipe(
  Schema.filter((v) => v !== undefined && typeof v !== "function" && typeof v !== "symbol", {
    message: () => "value must be JSON (a string, number, boolean, null, array or object)",
  }),
);

/** `memory.remember {entity, attribute, value, ttlMs?}` */
export const RememberParams = Schema.Struct({
  entity: Id.annotations({ description: "the entity the fact is about, e.g. `user:alice`" }),
  attribute: Id.annotations({ description: "what is remembered, e.g. `favourite_colour`" }),
  value: JsonValue.annotations({ description: "the value (any JSON)" }),
  ttlMs: Schema.optional(
    Schema.Number.pipe(Schema.int(), Schema.positive()).annotations({
      description: "forget after this many milliseconds (short TTLs live in working memory only)",
    }),
  ),
});
export type RememberParams = typeof RememberParams.Type;
/** What `memory.remember` answers. */
export interface RememberResult {
  readonly entity: string;
  readonly attribute: string;
  /** How many older values this one closed. */
  readonly superseded: number;
  readonly tier: "working" | "long_term";
  readonly expiresAt: number | null;
}

/** `memory.recall {entity, attribute?, asOf?, history?}` */
export const RecallParams = Schema.Struct({
  entity: Id,
  attribute: Schema.optional(Id),
  asOf: Schema.optional(Time.annotations({ description: "epoch ms: the facts as they were then" })),
  history: Schema.optional(
    Schema.Boolean.annotations({ description: "every value ever held, with intervals" }),
  ),
});
export type RecallParams = typeof RecallParams.Type;
/** One recalled fact; `validTo: null` means it still holds. */
export interface RecalledFact {
  readonly attribute: string;
  readonly value: unknown;
  readonly validFrom: number;
  readonly validTo: number | null;
}
/** What `memory.recall` answers. */
export interface RecallResult {
  readonly facts: ReadonlyArray<RecalledFact>;
}

/** `memory.relate {from, to, type, properties?}` */
export const RelateParams = Schema.Struct({
  from: Id,
  to: Id,
  type: Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_]{0,63}$/)).annotations({
    description: "relation type, e.g. `works_at` (letters, digits, underscore)",
  }),
  properties: Schema.optional(Schema.Record({ key: Schema.String, value: JsonValue })),
});
export type RelateParams = typeof RelateParams.Type;
/** A relation as the wire shows it: the graph store's edge. */
export type WireEdge = GraphEdge;
/** What `memory.relate` answers. */
export interface RelateResult {
  readonly edge: WireEdge;
  /** How many contradicting relations it closed (single-valued relation types only). */
  readonly closed: number;
}

/** `memory.neighbors {id, depth?, types?, asOf?}` */
export const NeighborsParams = Schema.Struct({
  id: Id,
  depth: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, MAX_DEPTH))),
  types: Schema.optional(Schema.Array(Schema.String)),
  asOf: Schema.optional(Time),
});
export type NeighborsParams = typeof NeighborsParams.Type;
/** A node as the wire shows it. */
export interface WireNode {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly properties: Readonly<Record<string, unknown>>;
}
/** What `memory.neighbors` answers. */
export interface NeighborsResult {
  readonly nodes: ReadonlyArray<WireNode>;
  readonly edges: ReadonlyArray<WireEdge>;
}

/** `memory.ingest {documentId, text, metadata?}` */
export const IngestParams = Schema.Struct({
  documentId: Id,
  text: Schema.String,
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: JsonValue })),
});
export type IngestParams = typeof IngestParams.Type;
/** What `memory.ingest` answers; `changed: false` when the same content was already ingested. */
export interface IngestResult {
  readonly documentId: string;
  readonly chunks: number;
  readonly changed: boolean;
}

/** The most documents one `memory.ingestMany` takes. */
export const MAX_INGEST_BATCH = 1000;

/** `memory.ingestMany {documents: [{documentId, text, metadata?}, …]}` (1 to 1,000 documents). */
export const IngestManyParams = Schema.Struct({
  documents: Schema.Array(IngestParams).pipe(Schema.minItems(1), Schema.maxItems(MAX_INGEST_BATCH)),
});
export type IngestManyParams = typeof IngestManyParams.Type;
/** What `memory.ingestMany` answers: one result per document, in the order sent. */
export interface IngestManyResult {
  readonly results: ReadonlyArray<IngestResult>;
}

/** Retrieval modes. */
export const SearchMode = Schema.Literal("vector", "keyword", "hybrid");
export type SearchMode = typeof SearchMode.Type;

/** What one search result is: a passage (chunk) or a whole document with its best passages. */
export const SearchGroup = Schema.Literal("passage", "document");
export type SearchGroup = typeof SearchGroup.Type;

/** `memory.search {query, k?, mode?, group?, filter?}` */
export const SearchParams = Schema.Struct({
  query: Schema.String.annotations({
    description: 'what to look for, in words; "a phrase" must appear as such, pre* matches words starting so',
  }),
  k: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 100))),
  mode: Schema.optional(SearchMode),
  group: Schema.optional(
    SearchGroup.annotations({
      description:
        "passage (default): the k best passages; document: k distinct documents with their best passages",
    }),
  ),
  filter: Schema.optional(
    Schema.Record({
      key: Schema.String,
      value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean),
    }).annotations({
      description: 'chunk metadata that must match exactly, e.g. {"lang": "en"}',
    }),
  ),
});
export type SearchParams = typeof SearchParams.Type;
/** Each retriever's 1-based rank of a result (absent when that retriever did not find it). */
export interface SearchRanks {
  readonly vector?: number;
  readonly keyword?: number;
  readonly graph?: number;
}
/** One search result. */
export interface SearchHit {
  readonly documentId: string;
  readonly chunkId: string;
  readonly text: string;
  readonly score: number;
  readonly ranks: SearchRanks;
  readonly metadata: Readonly<Record<string, unknown>>;
}
/** A passage of a document-level result, with what to cite it by. */
export interface SearchPassage {
  readonly chunkId: string;
  readonly text: string;
  readonly score: number;
  /** `documentId` and, when the passage is under headings, `› Guide > Roses`. */
  readonly citation: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}
/** One document-level result (`group: "document"`): the document and its best passages, best first. */
export interface SearchDocument {
  readonly documentId: string;
  readonly score: number;
  readonly ranks: SearchRanks;
  readonly passages: ReadonlyArray<SearchPassage>;
}
/**
 * What `memory.search` answers: `results`, the passages (with `group: "document"`, the best passage
 * of each document, one per document), and with `group: "document"` also `documents`.
 */
export interface SearchResult {
  readonly results: ReadonlyArray<SearchHit>;
  readonly documents?: ReadonlyArray<SearchDocument>;
}

/** `memory.similarEntities {query | entity, types?, k?}`: entities by meaning, optionally of some types. */
export const SimilarEntitiesParams = Schema.Struct({
  query: Schema.optional(
    Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4000)).annotations({
      description: "what the entities should be about, in words",
    }),
  ),
  entity: Schema.optional(
    Id.annotations({ description: "find entities like this one (by its name and type)" }),
  ),
  types: Schema.optional(
    Schema.Array(Schema.String).annotations({
      description: 'only entities of these types, e.g. ["company"]',
    }),
  ),
  k: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 100))),
}).pipe(
  Schema.filter((p) => (p.query === undefined) !== (p.entity === undefined), {
    message: () => "give either query or entity (one of them)",
  }),
);
export type SimilarEntitiesParams = typeof SimilarEntitiesParams.Type;
/** One entity found by meaning; `score` is the cosine similarity (1 is identical). */
export interface SimilarEntity {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly score: number;
}
/** What `memory.similarEntities` answers, most similar first. */
export interface SimilarEntitiesResult {
  readonly entities: ReadonlyArray<SimilarEntity>;
}

/** `memory.lineage {agent}`: an agent's address or id. */
export const LineageParams = Schema.Struct({ agent: Id });
export type LineageParams = typeof LineageParams.Type;
/** One lineage edge: `from` and `to` are agent addresses; `time` is when it began. */
export interface LineageEdge {
  readonly type: "spawned_by" | "supervised_by" | "handed_off_to";
  readonly from: string;
  readonly to: string;
  readonly time: number;
  readonly endedAt: number | null;
  /** For `handed_off_to`: the task, the reason, and the result (or error) once the target answered. */
  readonly task?: string;
  readonly reason?: string;
  readonly result?: string;
  readonly error?: string;
}
/** What `memory.lineage` answers. */
export interface LineageResult {
  readonly edges: ReadonlyArray<LineageEdge>;
}
