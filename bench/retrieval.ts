/**
 * Retrieval quality on real text (`bench/corpus.ts`), known-item style: each document's own
 * one-line description is the query, and the one relevant result is that document.
 *
 * - `memory.retrieval.<corpus>.<mode>`: MRR@10 and R@10 of `memory.search {group: "document",
 *   k: 10}` in each mode (keyword, vector, hybrid) with the default offline set-up, and its p50
 *   latency, against a plain BM25 library (MiniSearch, BM25 over whole documents, default
 *   tokenizer, no fuzzy or prefix matching) over the same documents and queries in the same run.
 * - `memory.retrieval.<corpus>.ingest`: chunks/s of loading the corpus through `ingestMany`
 *   (chunking, the default embedder, graph links, the full-text index included; the HNSW build,
 *   which a bulk load leaves to the first vector search, timed separately beside it, and
 *   `chunksPerSecondWithIndex` counting both), against the BM25 library's indexing rate in documents/s.
 * - `memory.retrieval.<corpus>.hnsw`: R@10 of HNSW search against exact search of the same store
 *   for the queries' embeddings (ground truth: exact search).
 *
 * Corpora: `man` (2,000 manual pages; the figures the docs quote), `readme` (the READMEs in
 * `node_modules`; the fusion weights were tuned on it), and any JSON-lines file of `{id, query,
 * text}` named by `ARBOR_BENCH_CORPUS` (the `file` bench; `bench/fetch-npm-readmes.ts` fetches
 * 2,000 npm READMEs not in `node_modules`). Each prints document-level results per mode and
 * passage-level hybrid search's (`hybrid.passages`: the documents of its passages, in order). `ARBOR_BENCH_DOCS` and
 * `ARBOR_BENCH_QUERIES` shrink a run while developing; `ARBOR_BENCH_SWEEP=1` prints hybrid
 * MRR@10 for a range of fusion weights (how `DEFAULT_FUSION` was chosen).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { Clock, Effect, Layer, ManagedRuntime } from "effect";
import MiniSearch from "minisearch";
import type { OfflineEmbedderName } from "../knowledge/config.ts";
import { Embedder, layerHashingEmbedder } from "../knowledge/embedder.ts";
import { layerSentenceEmbedder } from "../knowledge/embedder-sentence.ts";
import { layerStaticEmbedder } from "../knowledge/embedder-static.ts";
import { GraphStore } from "../knowledge/graph-store.ts";
import { layerSqlGraphStore } from "../knowledge/graph-store-sql.ts";
import { KnowledgeGraph, layerKnowledgeGraph } from "../knowledge/knowledge-graph.ts";
import type { FusionWeights } from "../knowledge/rag/fusion.ts";
import { searchChunks } from "../knowledge/rag/retrieve.ts";
import { makePgliteClient, SqlClient } from "../knowledge/sql-client.ts";
import { layerSqlVectorStore, VectorStore } from "../knowledge/vector-store.ts";
import type { SearchMode, SearchParams } from "../knowledge/wire.ts";
import { jsonlCorpus, type KnownItem, manCorpus, readmeCorpus } from "./corpus.ts";
import { type Bench, type BenchResult, percentile, round } from "./harness.ts";

const envInt = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
};

/** Rank (1-based) of `id` in `ranked`, or 0 when it is not in the first 10. */
const rankOf = (ranked: ReadonlyArray<string>, id: string) => {
  const i = ranked.slice(0, 10).indexOf(id);
  return i < 0 ? 0 : i + 1;
};

interface Quality {
  readonly mrr: number;
  readonly recall: number;
  readonly p50: number;
}

const measure = async (
  queries: ReadonlyArray<KnownItem>,
  search: (query: string) => Promise<ReadonlyArray<string>>,
): Promise<Quality> => {
  let rr = 0;
  let found = 0;
  const times: number[] = [];
  for (const q of queries) {
    const t = performance.now();
    const ranked = await search(q.query);
    times.push(performance.now() - t);
    const r = rankOf(ranked, q.documentId);
    if (r > 0) {
      rr += 1 / r;
      found++;
    }
  }
  return { mrr: rr / queries.length, recall: found / queries.length, p50: percentile(times, 50) };
};

const openDb = async () => {
  const dir = mkdtempSync(join(tmpdir(), "arbor-bench-"));
  const db = await PGlite.create(dir, { extensions: { vector } });
  await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
  return { db, drop: () => rmSync(dir, { recursive: true, force: true }) };
};

/** Loads `items` into a fresh embedded store and measures every mode against the BM25 library. */
const progress = (text: string) => process.stderr.write(`${text}\n`);

/** The offline embedders a run measures (`ARBOR_BENCH_EMBEDDERS`, default `hashing,static`). */
const benchEmbedders = (): ReadonlyArray<OfflineEmbedderName> => {
  const names = (process.env.ARBOR_BENCH_EMBEDDERS ?? "hashing,static").split(",").map((n) => n.trim());
  return names.filter((n): n is OfflineEmbedderName => n === "hashing" || n === "static" || n === "sentence");
};

const embedderLayer = (name: OfflineEmbedderName) =>
  name === "static"
    ? layerStaticEmbedder
    : name === "sentence"
      ? layerSentenceEmbedder
      : layerHashingEmbedder();

const evaluate = async (
  corpus: string,
  items: ReadonlyArray<KnownItem>,
  embedderName: OfflineEmbedderName,
): Promise<BenchResult[]> => {
  const { db, drop } = await openDb();
  const dimension = embedderName === "hashing" ? 384 : 512;
  const layer = layerKnowledgeGraph().pipe(
    Layer.provideMerge(Layer.mergeAll(layerSqlGraphStore, layerSqlVectorStore({ dimension }))),
    Layer.provideMerge(embedderLayer(embedderName)),
    Layer.provideMerge(Layer.effect(SqlClient, makePgliteClient(db))),
  );
  // The hashing embedder keeps the names the docs quote; the others say which embedder ran.
  corpus = embedderName === "hashing" ? corpus : `${corpus}.${embedderName}`;
  const rt = ManagedRuntime.make(layer);
  const out: BenchResult[] = [];
  try {
    const queries = items.slice(0, envInt("ARBOR_BENCH_QUERIES", items.length));
    // The baseline: a plain BM25 library over whole documents.
    const t0 = performance.now();
    const mini = new MiniSearch<KnownItem>({ fields: ["text"], idField: "documentId", storeFields: [] });
    mini.addAll(items);
    const miniDocsPerSecond = (items.length / (performance.now() - t0)) * 1000;
    const baseline = await measure(queries, async (q) => mini.search(q).map((r) => String(r.id)));

    // Ingest through the memory service, in batches like `arbor memory ingest`.
    let chunks = 0;
    const t1 = performance.now();
    for (let i = 0; i < items.length; i += 250) {
      const { results } = await rt.runPromise(
        Effect.flatMap(KnowledgeGraph, (kg) =>
          kg.ingestMany({
            documents: items.slice(i, i + 250).map((d) => ({ documentId: d.documentId, text: d.text })),
          }),
        ),
      );
      chunks += results.reduce((n, r) => n + r.chunks, 0);
    }
    const ingestSeconds = (performance.now() - t1) / 1000;
    // A bulk load leaves the HNSW build to the first vector search: timed here, reported beside.
    const t2 = performance.now();
    await rt.runPromise(
      Effect.gen(function* () {
        const embedder = yield* Embedder;
        const vectors = yield* VectorStore;
        const [v] = yield* embedder.embed([items[0]!.query]);
        yield* vectors.searchVector({ vector: v!, k: 10 });
      }),
    );
    const indexSeconds = (performance.now() - t2) / 1000;
    progress(
      `${corpus}: ${items.length} documents, ${chunks} chunks loaded in ${round(ingestSeconds, 1)} s, index built by the first search in ${round(indexSeconds, 1)} s`,
    );
    out.push({
      bench: `memory.retrieval.${corpus}.ingest`,
      unit: "chunks/s (higher is better)",
      value: round(chunks / ingestSeconds, 0),
      baseline: "BM25 library indexing, documents/s",
      baselineValue: round(miniDocsPerSecond, 0),
      ratio: round(chunks / ingestSeconds / miniDocsPerSecond),
      documents: items.length,
      chunks,
      megabytes: round(items.reduce((n, d) => n + d.text.length, 0) / 2 ** 20, 1),
      seconds: round(ingestSeconds, 1),
      indexBuildSeconds: round(indexSeconds, 1),
      chunksPerSecondWithIndex: round(chunks / (ingestSeconds + indexSeconds), 0),
    });

    const search = (params: SearchParams) =>
      rt.runPromise(Effect.flatMap(KnowledgeGraph, (kg) => kg.search(params)));
    // Document-level search in every mode, and the default passage-level hybrid search (its
    // passages' documents, each counted at its first passage).
    const runs = [
      ...(["keyword", "vector", "hybrid"] as const).map((mode) => ({ mode, group: "document" as const })),
      { mode: "hybrid" as const, group: "passage" as const },
    ] satisfies ReadonlyArray<{ mode: SearchMode; group: "document" | "passage" }>;
    for (const { mode, group } of runs) {
      const q = await measure(queries, async (query) => [
        ...new Set((await search({ query, k: 10, mode, group })).results.map((r) => r.documentId)),
      ]);
      const name = group === "document" ? mode : `${mode}.passages`;
      progress(
        `${corpus} ${name}: MRR@10 ${round(q.mrr)} R@10 ${round(q.recall)} p50 ${round(q.p50, 1)} ms (BM25 library: MRR@10 ${round(baseline.mrr)} R@10 ${round(baseline.recall)} p50 ${round(baseline.p50, 2)} ms)`,
      );
      out.push({
        bench: `memory.retrieval.${corpus}.${name}`,
        unit: "MRR@10 (higher is better)",
        value: round(q.mrr),
        baseline: "BM25 library (MiniSearch) MRR@10",
        baselineValue: round(baseline.mrr),
        ratio: round(q.mrr / baseline.mrr),
        recallAt10: round(q.recall),
        baselineRecallAt10: round(baseline.recall),
        p50Ms: round(q.p50, 1),
        baselineP50Ms: round(baseline.p50, 2),
        queries: queries.length,
      });
    }

    // HNSW against exact search on the queries' embeddings.
    const sample = queries.slice(0, 200);
    let agree = 0;
    let agreeTied = 0;
    for (const item of sample) {
      const [approx, exact] = await rt.runPromise(
        Effect.gen(function* () {
          const embedder = yield* Embedder;
          const vectors = yield* VectorStore;
          const [v] = yield* embedder.embed([item.query]);
          return [
            yield* vectors.searchVector({ vector: v!, k: 10 }),
            yield* vectors.searchExact({ vector: v!, k: 10 }),
          ] as const;
        }),
      );
      const truth = new Set(exact.map((h) => h.chunkId));
      agree += approx.filter((h) => truth.has(h.chunkId)).length / Math.max(1, truth.size);
      // Real text repeats itself (the same paragraph in several pages): a hit as close as the
      // exact 10th is as good as it, whichever of the tied chunks either search returned.
      const tenth = exact[exact.length - 1]?.score ?? 1;
      agreeTied +=
        approx.filter((h) => truth.has(h.chunkId) || h.score >= tenth - 1e-6).length /
        Math.max(1, truth.size);
    }
    progress(
      `${corpus} hnsw: R@10 ${round(agree / sample.length)} of exact (${round(agreeTied / sample.length)} counting ties at the 10th distance)`,
    );
    out.push({
      bench: `memory.retrieval.${corpus}.hnsw`,
      unit: "R@10 vs exact (higher is better)",
      value: round(agree / sample.length),
      baseline: "exact search",
      baselineValue: 1,
      ratio: round(agree / sample.length),
      recallTiesCounted: round(agreeTied / sample.length),
      chunks,
      queries: sample.length,
    });

    if (process.env.ARBOR_BENCH_SWEEP === "1") {
      const deps = await rt.runPromise(
        Effect.all({ graph: GraphStore, vectors: VectorStore, embedder: Embedder }),
      );
      for (const keyword of [0.5, 0.6, 0.7, 0.8, 0.9]) {
        const weights: FusionWeights = { keyword, vector: round(1 - keyword, 2), graph: 0.1 };
        const q = await measure(queries, async (query) => {
          const now = await rt.runPromise(Clock.currentTimeMillis);
          const result = await rt.runPromise(
            searchChunks(deps, { query, k: 10, group: "document" }, now, { fusion: { document: weights } }),
          );
          return result.results.map((r) => r.documentId);
        });
        process.stdout.write(
          `sweep ${corpus} keyword ${keyword} vector ${weights.vector}: MRR@10 ${round(q.mrr)} R@10 ${round(q.recall)}\n`,
        );
      }
    }
  } finally {
    await rt.dispose();
    await db.close();
    drop();
  }
  return out;
};

/** `evaluate` with each embedder of the run, one after the other. */
const evaluateEach = async (corpus: string, items: ReadonlyArray<KnownItem>): Promise<BenchResult[]> => {
  const out: BenchResult[] = [];
  for (const embedder of benchEmbedders()) out.push(...(await evaluate(corpus, items, embedder)));
  return out;
};

/** The retrieval-quality benches. */
export const benches: ReadonlyArray<Bench> = [
  {
    name: "memory.retrieval.man",
    run: async () => {
      const items = manCorpus(envInt("ARBOR_BENCH_DOCS", 2000));
      if (!items) {
        process.stderr.write("memory.retrieval.man: no manual pages in /usr/share/man; skipped\n");
        return [];
      }
      return evaluateEach("man", items);
    },
  },
  {
    // Any known-item corpus as JSON lines `{id, query, text}` (`bench/fetch-npm-readmes.ts` makes
    // one from the npm registry); named after its file. Skipped without `ARBOR_BENCH_CORPUS`.
    name: "memory.retrieval.file",
    run: async () => {
      const file = process.env.ARBOR_BENCH_CORPUS;
      if (!file) {
        process.stderr.write("memory.retrieval.file: set ARBOR_BENCH_CORPUS=<corpus.jsonl>; skipped\n");
        return [];
      }
      const items = jsonlCorpus(file, envInt("ARBOR_BENCH_DOCS", 2000));
      const name = basename(file).replace(/\.jsonl$/, "");
      return evaluateEach(name, items);
    },
  },
  {
    name: "memory.retrieval.readme",
    run: async () => {
      const items = readmeCorpus(
        join(import.meta.dirname, "..", "node_modules"),
        envInt("ARBOR_BENCH_DOCS", 2000),
      );
      return evaluateEach("readme", items);
    },
  },
];
