/**
 * Retrieval: vector (pgvector, cosine), keyword (BM25 over Postgres full-text) and hybrid — both
 * of those plus a graph-neighbourhood retriever, fused by weighted normalised score (`fusion.ts`).
 * Every result says each retriever's rank, so a person can see why it came up. Results are
 * passages, or with `group: "document"` distinct documents with their best passages.
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
import type {
  SearchDocument,
  SearchHit,
  SearchParams,
  SearchPassage,
  SearchRanks,
  SearchResult,
} from "../wire.ts";
import { DEFAULT_FUSION, type FusionWeights, fuseByScore, type Scored } from "./fusion.ts";

/** What retrieval needs. */
export interface RetrieveDeps {
  readonly graph: GraphStoreService;
  readonly vectors: VectorStoreService;
  readonly embedder: EmbedderService;
}

const matches = (metadata: Readonly<Record<string, unknown>>, filter: MetadataFilter | undefined) =>
  !filter || Object.entries(filter).every(([key, value]) => metadata[key] === value);

/** The chunks of `ids` (their texts and metadata) by id, read in one statement. */
const chunksById = (vectors: VectorStoreService, ids: ReadonlyArray<string>) =>
  Effect.map(vectors.getChunks(ids), (rows) => new Map(rows.map((c) => [c.chunkId, c] as const)));

/** The graph-neighbourhood retriever (see the module comment). */
const graphRetrieve = (
  deps: RetrieveDeps,
  query: string,
  seeds: ReadonlyArray<ChunkHit>,
  limit: number,
  filter: MetadataFilter | undefined,
  now: number,
): Effect.Effect<{ readonly hits: ReadonlyArray<ChunkHit>; readonly named: boolean }, StoreError> =>
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
    if (start.length === 0) return { hits: [], named: false };
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
    const chunks = yield* chunksById(
      vectors,
      ranked.map(([id]) => id),
    );
    const hits = ranked
      .map(([id, s]) => chunks.get(id) && { ...chunks.get(id)!, score: s })
      .filter((c): c is ChunkHit => c !== undefined && matches(c.metadata, filter))
      .slice(0, limit);
    return { hits, named: named.length > 0 };
  });

/** What the retrievers found: passages, and with documents, whole documents too. */
const passageHit = (h: ChunkHit, score: number, ranks: SearchRanks): SearchHit => ({
  documentId: h.documentId,
  chunkId: h.chunkId,
  text: h.text,
  score,
  ranks,
  metadata: h.metadata,
});

const citationOf = (h: ChunkHit): string =>
  typeof h.metadata.headings === "string" && h.metadata.headings !== ""
    ? `${h.documentId} › ${h.metadata.headings}`
    : h.documentId;

const scored = (hits: ReadonlyArray<ChunkHit>): ReadonlyArray<Scored<ChunkHit>> =>
  hits.map((h) => ({ key: h.chunkId, item: h, score: h.score }));

/** Passages a document-level result shows. */
const PASSAGES_PER_DOCUMENT = 3;

/**
 * How much more a document's opening passage (`<documentId>#0`) counts when vector search ranks
 * documents: the opening is where a document says what it is about (keyword search's lead bonus,
 * `LEAD` in `internal/bm25.ts`, is the same idea). Tuned on the `readme` corpus, validated on `man`.
 */
const OPENING_BOOST = 0.25;

/** Vector hits with each document's opening passage boosted, best first again. */
const withOpeningBoost = (hits: ReadonlyArray<ChunkHit>): ReadonlyArray<ChunkHit> =>
  hits
    .map((h) =>
      h.score > 0 && h.chunkId === `${h.documentId}#0` ? { ...h, score: h.score * (1 + OPENING_BOOST) } : h,
    )
    .sort((a, b) => b.score - a.score);

/**
 * How much a passage's document counts, against the passage itself, in hybrid passage search's
 * keyword list (each BM25 score over its list's best): a passage is found for the document it is
 * in as much as for its own words, as document-level search finds documents. Chosen over 0–8 on
 * the `readme` corpus (MRR@10 of the passages' documents: 0.922 with passage BM25 alone, 0.940 at
 * 1, 0.945 at 4, 0.947 at 8), checked on `man` (0.661 → 0.743) and on 2,000 npm READMEs
 * (0.772 → 0.867), with the passages of the best `max(k, 10)` documents.
 */
const DOCUMENT_PRIOR = 4;

/** Options of retrieval (the bench tunes the fusion weights through them). */
export interface RetrieveOptions {
  readonly fusion?: { readonly passage?: FusionWeights; readonly document?: FusionWeights };
}

/**
 * When the query names a known entity, what the graph says about it is as strong a signal as the
 * best retriever's (a name is an exact key); otherwise the graph only expands the best hits and
 * keeps its tuned weight.
 */
const withGraph = (weights: FusionWeights, named: boolean): FusionWeights =>
  named ? { ...weights, graph: Math.max(weights.keyword, weights.vector) + 0.01 } : weights;

/** Runs `memory.search`. `now` bounds which graph relations count (those current now). */
export const searchChunks = (
  deps: RetrieveDeps,
  params: SearchParams,
  now: number,
  options: RetrieveOptions = {},
): Effect.Effect<SearchResult, KnowledgeInputError | StoreError | EmbedError> =>
  Effect.gen(function* () {
    const query = params.query.trim();
    if (query === "")
      return yield* new KnowledgeInputError({ reason: "empty_query", detail: "the query is empty" });
    const k = params.k ?? 8;
    const mode = params.mode ?? "hybrid";
    const filter = params.filter;
    const byFilter = filter ? { filter } : {};
    // Hybrid search's vector list is one signal of three: a coarser index walk serves it.
    const coarse = mode === "hybrid";
    const vectorHits = (n: number, bare = false) =>
      Effect.flatMap(deps.embedder.embed([query]), ([vector]) =>
        deps.vectors.searchVector({ vector: vector!, k: n, bare, coarse, ...byFilter }),
      );
    // In hybrid search a query without keywords (only stop words) still has a vector side.
    const lenient = <A>(e: Effect.Effect<ReadonlyArray<A>, KnowledgeInputError | StoreError>) =>
      mode === "hybrid"
        ? e.pipe(Effect.catchTag("KnowledgeInputError", () => Effect.succeed([] as ReadonlyArray<A>)))
        : e;
    const keywordHits = (n: number, documents?: ReadonlyArray<string>) =>
      lenient(
        deps.vectors.searchKeyword({
          text: query,
          k: n,
          ...byFilter,
          ...(documents ? { documents, perDocument: PASSAGES_PER_DOCUMENT, bare: true } : {}),
        }),
      );

    const keywordDocumentHits = (n: number) =>
      lenient(deps.vectors.searchKeywordDocuments({ text: query, k: n, bare: true, ...byFilter }));
    // Hybrid passage search's keyword list: the best `n` passages of the best `among` documents by
    // keyword, each scored by its own words and, `DOCUMENT_PRIOR` times as much, its document's.
    // Gotcha: document search indexes a document's first `DOCUMENT_TEXT_LIMIT` characters (a few
    // books); passages past them reach hybrid passage search through the vector list only.
    const keywordPassagesOfDocuments = (n: number, among: number) =>
      Effect.gen(function* () {
        const documents = yield* keywordDocumentHits(among);
        if (documents.length === 0) return [];
        const passages = yield* keywordHits(
          n,
          documents.map((d) => d.documentId),
        );
        const top = documents[0]!.score || 1;
        const ofDocument = new Map(documents.map((d) => [d.documentId, d.score / top]));
        const best = Math.max(...passages.map((h) => h.score)) || 1;
        return passages
          .map((h) => ({
            ...h,
            score: h.score / best + DOCUMENT_PRIOR * (ofDocument.get(h.documentId) ?? 0),
          }))
          .sort((a, b) => b.score - a.score);
      });

    if ((params.group ?? "passage") === "passage") {
      if (mode === "vector")
        return { results: (yield* vectorHits(k)).map((h, i) => passageHit(h, h.score, { vector: i + 1 })) };
      if (mode === "keyword")
        return { results: (yield* keywordHits(k)).map((h, i) => passageHit(h, h.score, { keyword: i + 1 })) };
      const depth = Math.max(k * 3, 20);
      const vector = yield* vectorHits(depth, true);
      const keyword = yield* keywordPassagesOfDocuments(depth, Math.max(k, 10));
      const { hits: graph, named } = yield* graphRetrieve(
        deps,
        query,
        [...vector.slice(0, 5), ...keyword.slice(0, 5)],
        depth,
        filter,
        now,
      );
      const fused = fuseByScore(
        { keyword: scored(keyword), vector: scored(vector), graph: scored(graph) },
        withGraph(options.fusion?.passage ?? DEFAULT_FUSION.passage, named),
      ).slice(0, k);
      // The vector and keyword hits came bare: the texts of the k shown are read in one statement.
      const texts = yield* chunksById(
        deps.vectors,
        fused.filter((f) => f.item.text === "").map((f) => f.item.chunkId),
      );
      return {
        results: fused.flatMap((f) => {
          const hit = f.item.text === "" ? texts.get(f.item.chunkId) : f.item;
          return hit ? [passageHit(hit, f.score, f.ranks)] : [];
        }),
      };
    }

    // Document-level: documents ranked by each retriever (keyword: BM25 over whole documents;
    // vector and graph: a document's best passage), fused, then each one's best passages.
    // 20 documents per list for 10 shown: 40 ranked no better on `man` or the npm READMEs, and a
    // deeper keyword list costs more pruning passes and proximity reads.
    const depth = Math.max(k * 2, 20);
    // Many passages rank documents; the text of those in the chosen documents is read after.
    const vector = mode === "keyword" ? [] : yield* vectorHits(Math.max(depth * 3, 100), true);
    const keywordDocuments = mode === "vector" ? [] : yield* keywordDocumentHits(depth);
    const { hits: graph, named } =
      mode === "hybrid"
        ? yield* graphRetrieve(deps, query, [...vector.slice(0, 5)], depth, filter, now)
        : { hits: [], named: false };
    const bestPerDocument = (hits: ReadonlyArray<ChunkHit>): ReadonlyArray<Scored<string>> => {
      const seen = new Set<string>();
      return hits.flatMap((h) => {
        if (seen.has(h.documentId)) return [];
        seen.add(h.documentId);
        return [{ key: h.documentId, item: h.documentId, score: h.score }];
      });
    };
    const documents = fuseByScore(
      {
        keyword: keywordDocuments.map((d) => ({ key: d.documentId, item: d.documentId, score: d.score })),
        vector: bestPerDocument(withOpeningBoost(vector)),
        graph: bestPerDocument(graph),
      },
      mode === "hybrid"
        ? withGraph(options.fusion?.document ?? DEFAULT_FUSION.document, named)
        : { keyword: 1, vector: 1, graph: 0 },
    ).slice(0, k);
    const chosen = documents.map((d) => d.key);
    const keywordPassages =
      mode === "vector" || chosen.length === 0
        ? []
        : yield* keywordHits(chosen.length * PASSAGES_PER_DOCUMENT, chosen);
    const inChosen = new Set(chosen);
    const vectorPassages = vector.filter((h) => inChosen.has(h.documentId));
    // Both retrievers' passages came bare: their texts are read in one statement, with the first
    // passage of each chosen document neither found (shown when nothing else is).
    const shown = [...keywordPassages, ...vectorPassages];
    const found = new Set(shown.map((h) => h.documentId));
    const firsts = chosen.filter((id) => !found.has(id)).map((id) => `${id}#0`);
    const texts = yield* chunksById(deps.vectors, [...new Set(shown.map((h) => h.chunkId)), ...firsts]);
    const withText = (hits: ReadonlyArray<ChunkHit>) =>
      hits.flatMap((h) => {
        const full = texts.get(h.chunkId);
        return full ? [{ ...full, score: h.score }] : [];
      });
    const passages = fuseByScore(
      {
        keyword: scored(withText(keywordPassages)),
        vector: scored(withText(vectorPassages)),
      },
      mode === "hybrid"
        ? (options.fusion?.passage ?? DEFAULT_FUSION.passage)
        : { keyword: 1, vector: 1, graph: 0 },
    );
    const byDocument = new Map<string, SearchPassage[]>();
    for (const p of passages) {
      const list = byDocument.get(p.item.documentId) ?? [];
      if (list.length < PASSAGES_PER_DOCUMENT)
        list.push({
          chunkId: p.item.chunkId,
          text: p.item.text,
          score: p.score,
          citation: citationOf(p.item),
          metadata: p.item.metadata,
        });
      byDocument.set(p.item.documentId, list);
    }
    // A document found only by name in the graph, or whose words span passages, may have no
    // passage among the hits: show its first one.
    const missing = chosen.filter((id) => !byDocument.has(id));
    if (missing.length > 0) {
      const unread = missing.map((id) => `${id}#0`).filter((id) => !texts.has(id));
      const first = [
        ...missing.flatMap((id) => texts.get(`${id}#0`) ?? []),
        ...(unread.length > 0 ? yield* deps.vectors.getChunks(unread) : []),
      ];
      for (const h of first)
        byDocument.set(h.documentId, [
          { chunkId: h.chunkId, text: h.text, score: 0, citation: citationOf(h), metadata: h.metadata },
        ]);
    }
    const grouped: ReadonlyArray<SearchDocument> = documents.map((d) => ({
      documentId: d.key,
      score: d.score,
      ranks: d.ranks,
      passages: byDocument.get(d.key) ?? [],
    }));
    return {
      results: grouped.flatMap((d) =>
        d.passages[0]
          ? [
              {
                documentId: d.documentId,
                chunkId: d.passages[0].chunkId,
                text: d.passages[0].text,
                score: d.score,
                ranks: d.ranks,
                metadata: d.passages[0].metadata,
              },
            ]
          : [],
      ),
      documents: grouped,
    };
  });
