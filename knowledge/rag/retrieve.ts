/**
 * Retrieval: vector (pgvector, cosine), keyword (Postgres full-text) and hybrid — both of those
 * plus a graph-neighbourhood retriever, fused by reciprocal rank (RRF, k = 60). Every result says
 * each retriever's rank, so a person can see why it came up.
 *
 * The graph retriever: entities named in the query, and entities mentioned by the best vector and
 * keyword hits, are expanded one hop in the graph; chunks that mention any of them are ranked by
 * how many they mention (query-named entities count double).
 */
import { Effect } from "effect";
import type { EmbedderService } from "../embedder.ts";
import { type EmbedError, KnowledgeInputError, type StoreError } from "../errors.ts";
import type { GraphStoreService } from "../graph-store.ts";
import { findMentions, INTERNAL_TYPES } from "../internal/mentions.ts";
import type { ChunkHit, MetadataFilter, VectorStoreService } from "../vector-store.ts";
import type { SearchHit, SearchParams, SearchRanks, SearchResult } from "../wire.ts";

/** What retrieval needs. */
export interface RetrieveDeps {
  readonly graph: GraphStoreService;
  readonly vectors: VectorStoreService;
  readonly embedder: EmbedderService;
}

/** The RRF constant: a hit ranked r by one retriever adds 1 / (RRF_K + r). */
export const RRF_K = 60;

/** Fuses ranked lists by reciprocal rank; ties broken by chunk id for a stable order. */
export const fuseByRank = (
  lists: Readonly<Partial<Record<keyof SearchRanks, ReadonlyArray<ChunkHit>>>>,
  k: number,
): ReadonlyArray<SearchHit> => {
  const fused = new Map<string, { hit: ChunkHit; score: number; ranks: Record<string, number> }>();
  for (const [name, hits] of Object.entries(lists)) {
    hits?.forEach((hit, i) => {
      const entry = fused.get(hit.chunkId) ?? { hit, score: 0, ranks: {} };
      entry.score += 1 / (RRF_K + i + 1);
      entry.ranks[name] = i + 1;
      fused.set(hit.chunkId, entry);
    });
  }
  return [...fused.values()]
    .sort((a, b) => b.score - a.score || (a.hit.chunkId < b.hit.chunkId ? -1 : 1))
    .slice(0, k)
    .map(({ hit, score, ranks }) => ({
      documentId: hit.documentId,
      chunkId: hit.chunkId,
      text: hit.text,
      score,
      ranks,
      metadata: hit.metadata,
    }));
};

const matches = (metadata: Readonly<Record<string, unknown>>, filter: MetadataFilter | undefined) =>
  !filter || Object.entries(filter).every(([key, value]) => metadata[key] === value);

/** The graph-neighbourhood retriever (see the module comment). */
const graphRetrieve = (
  deps: RetrieveDeps,
  query: string,
  seeds: ReadonlyArray<ChunkHit>,
  limit: number,
  filter: MetadataFilter | undefined,
  now: number,
): Effect.Effect<ReadonlyArray<ChunkHit>, StoreError> =>
  Effect.gen(function* () {
    const { graph, vectors } = deps;
    const named = (yield* findMentions(graph, [query]))[0]!.map((n) => n.id);
    const mentioned = yield* graph.edgesOf({
      ids: seeds.map((s) => s.chunkId),
      direction: "out",
      types: ["mentions"],
      asOf: now,
    });
    const start = [...new Set([...named, ...mentioned.map((e) => e.to)])];
    if (start.length === 0) return [];
    const around = yield* graph.edgesOf({ ids: start, direction: "both", asOf: now });
    const weight = new Map<string, number>(start.map((id) => [id, named.includes(id) ? 2 : 1]));
    const neighbourIds = around.flatMap((e) => [e.from, e.to]).filter((id) => !weight.has(id));
    const neighbours = yield* graph.getNodes([...new Set(neighbourIds)]);
    for (const n of neighbours) if (!INTERNAL_TYPES.has(n.type)) weight.set(n.id, 1);
    const mentions = yield* graph.edgesOf({
      ids: [...weight.keys()],
      direction: "in",
      types: ["mentions"],
      asOf: now,
    });
    const score = new Map<string, number>();
    for (const e of mentions) score.set(e.from, (score.get(e.from) ?? 0) + (weight.get(e.to) ?? 0));
    const ranked = [...score.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const chunks = new Map((yield* vectors.getChunks(ranked.map(([id]) => id))).map((c) => [c.chunkId, c]));
    return ranked
      .map(([id, s]) => chunks.get(id) && { ...chunks.get(id)!, score: s })
      .filter((c): c is ChunkHit => c !== undefined && matches(c.metadata, filter))
      .slice(0, limit);
  });

/** Runs `memory.search`. `now` bounds which graph relations count (those current now). */
export const searchChunks = (
  deps: RetrieveDeps,
  params: SearchParams,
  now: number,
): Effect.Effect<SearchResult, KnowledgeInputError | StoreError | EmbedError> =>
  Effect.gen(function* () {
    const query = params.query.trim();
    if (query === "")
      return yield* new KnowledgeInputError({ reason: "empty_query", detail: "the query is empty" });
    const k = params.k ?? 8;
    const mode = params.mode ?? "hybrid";
    const filter = params.filter;
    const single = (hits: ReadonlyArray<ChunkHit>, name: keyof SearchRanks): SearchResult => ({
      results: hits.map((h, i) => ({
        documentId: h.documentId,
        chunkId: h.chunkId,
        text: h.text,
        score: h.score,
        ranks: { [name]: i + 1 },
        metadata: h.metadata,
      })),
    });
    const vectorHits = (n: number) =>
      Effect.flatMap(deps.embedder.embed([query]), ([vector]) =>
        deps.vectors.searchVector({ vector: vector!, k: n, ...(filter ? { filter } : {}) }),
      );
    const keywordHits = (n: number) =>
      deps.vectors
        .searchKeyword({ text: query, k: n, ...(filter ? { filter } : {}) })
        .pipe(Effect.catchTag("KnowledgeInputError", () => Effect.succeed([] as ReadonlyArray<ChunkHit>)));
    if (mode === "vector") return single(yield* vectorHits(k), "vector");
    if (mode === "keyword")
      return single(
        yield* deps.vectors.searchKeyword({ text: query, k, ...(filter ? { filter } : {}) }),
        "keyword",
      );
    const depth = Math.max(k * 3, 20);
    const [vector, keyword] = yield* Effect.all([vectorHits(depth), keywordHits(depth)]);
    const graph = yield* graphRetrieve(
      deps,
      query,
      [...vector.slice(0, 5), ...keyword.slice(0, 5)],
      depth,
      filter,
      now,
    );
    return { results: fuseByRank({ vector, keyword, graph }, k) };
  });
