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

/**
 * What a chunk's vector is made from: its headings, then its text. A passage deep in a section
 * rarely repeats what the section (or the document's title) is about; its headings say it, so a
 * query about the topic finds the passage. The stored text stays the chunk's own.
 */
const embeddedText = (piece: { readonly text: string; readonly headings: ReadonlyArray<string> }): string =>
  piece.headings.length > 0 ? `${piece.headings.join("\n")}\n\n${piece.text}` : piece.text;

/** A changed document, chunked, waiting for its embeddings. */
interface Pending {
  readonly index: number;
  readonly documentId: string;
  readonly text: string;
  readonly hash: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly pieces: ReturnType<typeof chunkText>;
}

const contentHash = (text: string, metadata: Readonly<Record<string, unknown>>) =>
  createHash("sha256").update(text).update("\u0000").update(canonicalJson(metadata)).digest("hex");

/**
 * Ingests several documents (see the module comment): unchanged ones are skipped, the changed
 * ones are embedded together in batches and their chunks written as one batch, so a large load
 * takes the vector store's bulk path. The whole batch is checked first: an empty document or a
 * repeated id fails it before anything is written. Results come in the order given.
 */
export const ingestDocuments = (
  deps: IngestDeps,
  documents: ReadonlyArray<IngestParams>,
): Effect.Effect<ReadonlyArray<IngestResult>, KnowledgeInputError | StoreError | EmbedError> =>
  Effect.gen(function* () {
    const { graph, vectors, embedder } = deps;
    const where = (i: number) => (documents.length > 1 ? ` (documents[${i}])` : "");
    const first = new Map<string, number>();
    for (const [i, d] of documents.entries()) {
      if (d.text.trim() === "") {
        return yield* new KnowledgeInputError({
          reason: "empty_document",
          detail: `document ${d.documentId} has no text${where(i)}`,
        });
      }
      const seen = first.get(d.documentId);
      if (seen !== undefined) {
        return yield* new KnowledgeInputError({
          reason: "invalid_params",
          detail: `documents[${i}] repeats the id ${d.documentId} of documents[${seen}]; send each document once`,
        });
      }
      first.set(d.documentId, i);
    }

    const results: IngestResult[] = [];
    const pending: Pending[] = [];
    const stored = new Map(
      (yield* vectors.getDocuments(documents.map((d) => d.documentId))).map((d) => [d.id, d]),
    );
    for (const [index, d] of documents.entries()) {
      const metadata = d.metadata ?? {};
      const hash = contentHash(d.text, metadata);
      const existing = stored.get(d.documentId);
      if (existing?.hash === hash) {
        results[index] = { documentId: d.documentId, chunks: existing.chunks, changed: false };
        continue;
      }
      pending.push({
        index,
        documentId: d.documentId,
        text: d.text,
        hash,
        metadata,
        pieces: chunkText(d.text, deps.chunking),
      });
    }
    if (pending.length === 0) return results;

    const texts = pending.flatMap((p) => p.pieces.map(embeddedText));
    const embeddings: Array<ReadonlyArray<number>> = [];
    for (let i = 0; i < texts.length; i += EMBED_BATCH) {
      embeddings.push(...(yield* embedder.embed(texts.slice(i, i + EMBED_BATCH))));
    }
    let next = 0;
    const writes = pending.map((p) => ({
      pending: p,
      chunks: p.pieces.map(
        (piece): ChunkRecord => ({
          id: `${p.documentId}#${piece.ord}`,
          documentId: p.documentId,
          ord: piece.ord,
          text: piece.text,
          metadata: {
            ...p.metadata,
            ...(piece.headings.length > 0 ? { headings: piece.headings.join(" > ") } : {}),
          },
          embedding: embeddings[next++]!,
        }),
      ),
    }));

    const now = yield* Clock.currentTimeMillis;
    yield* linkInGraph(graph, writes, now);
    yield* vectors.replaceDocuments(
      writes.map((w) => ({
        document: {
          id: w.pending.documentId,
          hash: w.pending.hash,
          metadata: w.pending.metadata,
          chunks: w.chunks.length,
          text: w.pending.text,
        },
        chunks: w.chunks,
      })),
    );
    for (const w of writes) {
      results[w.pending.index] = { documentId: w.pending.documentId, chunks: w.chunks.length, changed: true };
    }
    return results;
  });

/**
 * The graph side of a batch: each document, and each chunk that mentions a known entity
 * (chunk → document, chunk → entity). A changed document's old chunk nodes go first.
 */
const linkInGraph = (
  graph: GraphStoreService,
  writes: ReadonlyArray<{ readonly pending: Pending; readonly chunks: ReadonlyArray<ChunkRecord> }>,
  now: number,
) =>
  Effect.gen(function* () {
    const ids = writes.map((w) => w.pending.documentId);
    const old = yield* graph.edgesOf({ ids, direction: "in", types: ["part_of"] });
    yield* graph.deleteNodes(old.map((e) => e.from));
    yield* graph.upsertNodes(
      writes.map(({ pending: p }) => ({
        id: p.documentId,
        type: "document",
        name: p.documentId,
        properties: p.metadata,
      })),
      now,
    );
    // Entities a document declares in `metadata.entities` (those that exist), by document.
    const declaredIds = (p: Pending) =>
      Array.isArray(p.metadata.entities)
        ? p.metadata.entities.filter((e): e is string => typeof e === "string")
        : [];
    const known = new Map(
      (yield* graph.getNodes([...new Set(writes.flatMap((w) => declaredIds(w.pending)))])).map((n) => [
        n.id,
        n,
      ]),
    );
    const chunks = writes.flatMap((w) => w.chunks);
    const mentions = yield* findMentions(
      graph,
      chunks.map((c) => c.text),
    );
    let next = 0;
    const linked = writes.flatMap(({ pending: p, chunks: own }) => {
      const declared = declaredIds(p).flatMap((id) => known.get(id) ?? []);
      return own
        .map((chunk) => ({
          chunk,
          entities: [...new Map([...declared, ...mentions[next++]!].map((n) => [n.id, n])).values()],
        }))
        .filter((l) => l.entities.length > 0);
    });
    yield* graph.upsertNodes(
      linked.map((l) => ({
        id: l.chunk.id,
        type: "chunk",
        name: l.chunk.id,
        properties: { documentId: l.chunk.documentId, ord: l.chunk.ord },
      })),
      now,
    );
    for (const l of linked) {
      yield* graph.relate({
        from: l.chunk.id,
        to: l.chunk.documentId,
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
  });
