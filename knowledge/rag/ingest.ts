/**
 * Ingest: chunk a document by structure, embed the chunks in batches, store them with their
 * vectors, and link document → chunk → entity in the graph. Idempotent by content hash: the same
 * text and metadata again change nothing; a changed document replaces its chunks.
 *
 * Gotcha: graph and vectors may live in different databases (Neo4j, Postgres), so the graph is
 * written first and the hash last: a failure in between leaves the old hash, and ingesting again
 * repairs both.
 */
import { createHash } from "node:crypto";
import { Clock, Effect } from "effect";
import { type ChunkOptions, chunkText } from "../chunker.ts";
import type { EmbedderService } from "../embedder.ts";
import { type EmbedError, KnowledgeInputError, type StoreError } from "../errors.ts";
import type { GraphStoreService } from "../graph-store.ts";
import { canonicalJson } from "../internal/json.ts";
import { findMentions } from "../internal/mentions.ts";
import type { ChunkRecord, VectorStoreService } from "../vector-store.ts";
import type { IngestParams, IngestResult } from "../wire.ts";

/** What ingest needs. */
export interface IngestDeps {
  readonly graph: GraphStoreService;
  readonly vectors: VectorStoreService;
  readonly embedder: EmbedderService;
  readonly chunking: ChunkOptions;
}

const EMBED_BATCH = 128;

/** Ingests one document (see the module comment). */
export const ingestDocument = (
  deps: IngestDeps,
  params: IngestParams,
): Effect.Effect<IngestResult, KnowledgeInputError | StoreError | EmbedError> =>
  Effect.gen(function* () {
    const { graph, vectors, embedder } = deps;
    const { documentId, text } = params;
    const metadata = params.metadata ?? {};
    if (text.trim() === "") {
      return yield* new KnowledgeInputError({
        reason: "empty_document",
        detail: `document ${documentId} has no text`,
      });
    }
    const hash = createHash("sha256")
      .update(text)
      .update("\u0000")
      .update(canonicalJson(metadata))
      .digest("hex");
    const existing = yield* vectors.getDocument(documentId);
    if (existing?.hash === hash) return { documentId, chunks: existing.chunks, changed: false };

    const pieces = chunkText(text, deps.chunking);
    const embeddings: Array<ReadonlyArray<number>> = [];
    for (let i = 0; i < pieces.length; i += EMBED_BATCH) {
      embeddings.push(...(yield* embedder.embed(pieces.slice(i, i + EMBED_BATCH).map((p) => p.text))));
    }
    const chunks: ChunkRecord[] = pieces.map((p, i) => ({
      id: `${documentId}#${p.ord}`,
      documentId,
      ord: p.ord,
      text: p.text,
      metadata: { ...metadata, ...(p.headings.length > 0 ? { headings: p.headings.join(" > ") } : {}) },
      embedding: embeddings[i]!,
    }));

    // Graph: the document, and each chunk that mentions a known entity (chunk → document, chunk → entity).
    const now = yield* Clock.currentTimeMillis;
    const old = yield* graph.edgesOf({ ids: [documentId], direction: "in", types: ["part_of"] });
    yield* graph.deleteNodes(old.map((e) => e.from));
    yield* graph.upsertNodes(
      [{ id: documentId, type: "document", name: documentId, properties: metadata }],
      now,
    );
    const declared = Array.isArray(metadata.entities)
      ? yield* graph.getNodes(metadata.entities.filter((e): e is string => typeof e === "string"))
      : [];
    const mentions = yield* findMentions(
      graph,
      chunks.map((c) => c.text),
    );
    const linked = chunks
      .map((c, i) => ({
        chunk: c,
        entities: [...new Map([...declared, ...mentions[i]!].map((n) => [n.id, n])).values()],
      }))
      .filter((l) => l.entities.length > 0);
    yield* graph.upsertNodes(
      linked.map((l) => ({
        id: l.chunk.id,
        type: "chunk",
        name: l.chunk.id,
        properties: { documentId, ord: l.chunk.ord },
      })),
      now,
    );
    for (const l of linked) {
      yield* graph.relate({
        from: l.chunk.id,
        to: documentId,
        type: "part_of",
        properties: {},
        time: now,
        cardinality: "one",
      });
      for (const entity of l.entities) {
        yield* graph.relate({
          from: l.chunk.id,
          to: entity.id,
          type: "mentions",
          properties: {},
          time: now,
          cardinality: "many",
        });
      }
    }

    yield* vectors.replaceDocument({ id: documentId, hash, metadata, chunks: chunks.length }, chunks);
    return { documentId, chunks: chunks.length, changed: true };
  });
