/**
 * Memory benchmarks, on an in-process PGlite (the embedded default), 384-dimensional vectors.
 *
 * - `memory.vector.10k` / `memory.vector.100k`: top-10 vector search (pgvector HNSW, cosine) —
 *   p50/p95 latency against an exact sequential-scan search of the same store in the same run, and
 *   recall@10 against the exact top 10 computed by brute force. Targets at 100k: recall@10 ≥ 0.95,
 *   p50 ≤ 10 ms.
 * - `memory.ingest.10k` / `memory.ingest.100k`: bulk ingest rate of chunks with precomputed
 *   embeddings (binary COPY, index built after the load, included), against plain multi-row
 *   parameterized INSERTs of text vectors into an unindexed table. Target ≥ 2,000 chunks/s.
 * - `memory.append.10k` / `memory.append.100k`: 1,000 more chunks added to the loaded store in
 *   batches of 20 (documents arriving one by one: each row pays an index insert), against the bulk
 *   rate.
 * - `memory.search.hybrid`: hybrid search (vector + full-text + graph expansion, RRF) latency on the
 *   10k store with the offline embedder, against vector-only search of the same queries.
 * - `memory.rag.ingest`: 1,000 five-section documents through the RAG path in one `ingestMany`
 *   call, against the same documents one `ingest` call each.
 * - `memory.graph.2hop`: 2-hop neighbourhood on a 10,000-node, 30,000-edge graph, against 1-hop.
 *
 * Storage: a file-backed PGlite in a temporary directory, like the embedded default.
 * The data: Gaussian clusters (100 centres) — real embeddings cluster too; uniformly random
 * vectors in 384 dimensions have no near neighbours and make any ANN index look bad.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { Effect, Layer, ManagedRuntime } from "effect";
import { layerHashingEmbedder, makeHashingEmbedder } from "../knowledge/embedder.ts";
import { GraphStore } from "../knowledge/graph-store.ts";
import { layerSqlGraphStore } from "../knowledge/graph-store-sql.ts";
import { DEFAULT_HNSW } from "../knowledge/hnsw.ts";
import {
  KnowledgeGraph,
  type KnowledgeGraphService,
  layerKnowledgeGraph,
} from "../knowledge/knowledge-graph.ts";
import { makePgliteClient, SqlClient } from "../knowledge/sql-client.ts";
import { type ChunkRecord, layerSqlVectorStore, VectorStore } from "../knowledge/vector-store.ts";
import { type Bench, type BenchResult, percentile, round } from "./harness.ts";

const DIM = 384;
const CENTRES = 100;

/** A seeded PRNG (so every run measures the same data) and a Gaussian from it. */
const prng = (seed: number) => {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  return { next, gauss };
};

const WORDS = [
  "river",
  "engine",
  "garden",
  "market",
  "signal",
  "orbit",
  "harbor",
  "forest",
  "ledger",
  "canvas",
];

/** `n` clustered unit-ish vectors with short texts that share words within a cluster. */
const dataset = (n: number, seed: number) => {
  const r = prng(seed);
  const centres = Array.from({ length: CENTRES }, () => Float32Array.from({ length: DIM }, r.gauss));
  const chunks: ChunkRecord[] = Array.from({ length: n }, (_, i) => {
    const c = i % CENTRES;
    const centre = centres[c]!;
    const embedding = new Float32Array(DIM);
    for (let k = 0; k < DIM; k++) embedding[k] = centre[k]! + 0.8 * r.gauss();
    const words = `${WORDS[c % 10]} ${WORDS[Math.floor(c / 10)]} topic${c} item${i}`;
    return {
      id: `c${i}`,
      documentId: `d${Math.floor(i / 10)}`,
      ord: i % 10,
      text: words,
      metadata: { c },
      embedding,
    };
  });
  const query = () => {
    const centre = centres[Math.floor(r.next() * CENTRES)]!;
    return Array.from(centre, (x) => x + 0.8 * r.gauss());
  };
  return { chunks, query };
};

/** Exact top-k ids by cosine similarity, brute force in JS (the recall ground truth). */
const exactTopK = (
  chunks: ReadonlyArray<ChunkRecord>,
  norms: Float32Array,
  q: ReadonlyArray<number>,
  k: number,
) => {
  let qn = 0;
  for (const x of q) qn += x * x;
  qn = Math.sqrt(qn);
  const best: Array<[number, number]> = [];
  chunks.forEach((c, i) => {
    const e = c.embedding;
    let dot = 0;
    for (let d = 0; d < DIM; d++) dot += e[d]! * q[d]!;
    const sim = dot / (norms[i]! * qn);
    if (best.length < k || sim > best[best.length - 1]![0]) {
      best.push([sim, i]);
      best.sort((a, b) => b[0] - a[0]);
      if (best.length > k) best.pop();
    }
  });
  return best.map(([, i]) => chunks[i]!.id);
};

/**
 * A fresh PGlite in a temporary data directory: the embedded default's file-backed storage.
 * (PGlite's `memory://` storage slows down as a table grows: about 30 times slower to load 100k rows.)
 */
const openDb = async () => {
  const dir = mkdtempSync(join(tmpdir(), "arbor-bench-"));
  const db = await PGlite.create(dir, { extensions: { vector } });
  await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
  const close = db.close.bind(db);
  return Object.assign(db, {
    close: async () => {
      await close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
};

const time = async <A>(f: () => Promise<A>): Promise<[A, number]> => {
  const t = performance.now();
  const a = await f();
  return [a, performance.now() - t];
};

/** Naive ingest baseline: multi-row INSERTs with text vectors, no index. */
const naiveInsertRate = async (db: PGlite, chunks: ReadonlyArray<ChunkRecord>): Promise<number> => {
  await db.exec(`CREATE TABLE IF NOT EXISTS naive (id text PRIMARY KEY, document_id text, ord int, text text,
    metadata jsonb, embedding vector(${DIM}))`);
  const [, ms] = await time(async () => {
    for (let i = 0; i < chunks.length; i += 500) {
      const params: unknown[] = [];
      const rows = chunks.slice(i, i + 500).map((c) => {
        const n = params.length;
        params.push(
          c.id,
          c.documentId,
          c.ord,
          c.text,
          JSON.stringify(c.metadata),
          `[${Array.from(c.embedding).join(",")}]`,
        );
        return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}::jsonb, $${n + 6}::vector)`;
      });
      await db.query(`INSERT INTO naive VALUES ${rows.join(", ")}`, params);
    }
  });
  await db.exec("DROP TABLE naive");
  return (chunks.length / ms) * 1000;
};

/** Chunks appended in small batches after the bulk load. */
const APPEND = 1000;

const vectorBench = (n: number, label: string, queries: number, exactQueries: number): Bench => ({
  name: `memory.vector.${label}`,
  run: async () => {
    const db = await openDb();
    const rt = ManagedRuntime.make(
      layerSqlVectorStore({ dimension: DIM }).pipe(
        Layer.provideMerge(Layer.effect(SqlClient, makePgliteClient(db))),
      ),
    );
    try {
      const data = dataset(n + APPEND, 7);
      const chunks = data.chunks.slice(0, n); // the load; the rest is appended afterwards
      const extra = data.chunks.slice(n);
      const naive = await naiveInsertRate(db, chunks.slice(0, 2000));
      const [, ingestMs] = await time(() =>
        rt.runPromise(Effect.flatMap(VectorStore, (s) => s.upsert(chunks))),
      );
      const norms = Float32Array.from(chunks, (c) => Math.hypot(...Array.from(c.embedding)));
      const approx: number[] = [];
      let hits = 0;
      for (let q = 0; q < queries; q++) {
        const query = data.query();
        const [found, ms] = await time(() =>
          rt.runPromise(Effect.flatMap(VectorStore, (s) => s.searchVector({ vector: query, k: 10 }))),
        );
        approx.push(ms);
        const truth = new Set(exactTopK(chunks, norms, query, 10));
        hits += found.filter((h) => truth.has(h.chunkId)).length;
      }
      const exact: number[] = [];
      for (let q = 0; q < exactQueries; q++) {
        const query = data.query();
        const [, ms] = await time(() =>
          rt.runPromise(Effect.flatMap(VectorStore, (s) => s.searchExact({ vector: query, k: 10 }))),
        );
        exact.push(ms);
      }
      // Adding documents to the loaded store: small batches pay the per-row index insert.
      const [, appendMs] = await time(async () => {
        for (let i = 0; i < extra.length; i += 20) {
          await rt.runPromise(Effect.flatMap(VectorStore, (s) => s.upsert(extra.slice(i, i + 20))));
        }
      });
      // How much of the ingest was the index build: rebuild it once more, timed (10k only: cheap).
      const indexMs =
        n <= 10_000
          ? (
              await time(() =>
                db.exec("SET maintenance_work_mem = '1GB'; REINDEX INDEX arbor_chunks_embedding"),
              )
            )[1]
          : undefined;
      const p50 = percentile(approx, 50);
      const exactP50 = percentile(exact, 50);
      const ingestRate = (n / ingestMs) * 1000;
      const results: BenchResult[] = [
        {
          bench: `memory.vector.${label}`,
          unit: "ms p50 top-10 (lower is better; ratio = exact / hnsw)",
          value: round(p50),
          baseline: "exact sequential scan, same store",
          baselineValue: round(exactP50),
          ratio: round(exactP50 / p50, 1),
          p95: round(percentile(approx, 95)),
          recallAt10: round(hits / (queries * 10), 3),
          chunks: n,
          dimension: DIM,
          queries,
          hnsw: DEFAULT_HNSW,
        },
        {
          bench: `memory.ingest.${label}`,
          unit: "chunks/s with precomputed embeddings, index build included (higher is better)",
          value: Math.round(ingestRate),
          baseline: "multi-row INSERT of text vectors, no index (2,000 chunks)",
          baselineValue: Math.round(naive),
          ratio: round(ingestRate / naive, 2),
          chunks: n,
          seconds: round(ingestMs / 1000, 1),
          // a second build of the same index, timed on its own: how much of `seconds` the index is
          ...(indexMs === undefined ? {} : { reindexSeconds: round(indexMs / 1000, 1) }),
        },
        {
          bench: `memory.append.${label}`,
          unit: "chunks/s added in batches of 20 to the loaded store (higher is better; ratio = append / bulk)",
          value: Math.round((extra.length / appendMs) * 1000),
          baseline: "bulk ingest rate of the same store (above)",
          baselineValue: Math.round(ingestRate),
          ratio: round(extra.length / appendMs / (ingestRate / 1000), 2),
          chunks: extra.length,
        },
      ];
      return results;
    } finally {
      await rt.dispose();
      await db.close();
    }
  },
});

/** The knowledge graph over a PGlite with the offline embedder, as the embedded default runs it. */
const knowledgeRuntime = (db: PGlite) =>
  ManagedRuntime.make(
    layerKnowledgeGraph().pipe(
      Layer.provideMerge(
        Layer.mergeAll(
          layerSqlGraphStore,
          layerSqlVectorStore({ dimension: DIM }),
          layerHashingEmbedder({ dimension: DIM }),
        ),
      ),
      Layer.provide(Layer.effect(SqlClient, makePgliteClient(db))),
    ),
  );

const hybridBench: Bench = {
  name: "memory.search.hybrid",
  run: async () => {
    const db = await openDb();
    const rt = knowledgeRuntime(db);
    try {
      const embedder = makeHashingEmbedder({ dimension: DIM });
      const r = prng(11);
      const texts = Array.from({ length: 10_000 }, (_, i) => {
        const w = Array.from({ length: 12 }, () => WORDS[Math.floor(r.next() * 10)]!);
        return `${w.join(" ")} topic${i % 100} note${i}.`;
      });
      const vectors = await Effect.runPromise(embedder.embed(texts));
      const chunks = texts.map((text, i) => ({
        id: `h${i}`,
        documentId: `hd${i}`,
        ord: 0,
        text,
        metadata: {},
        embedding: vectors[i]!,
      }));
      await rt.runPromise(Effect.flatMap(VectorStore, (s) => s.upsert(chunks)));
      await rt.runPromise(
        Effect.flatMap(KnowledgeGraph, (kg) =>
          Effect.forEach(
            Array.from({ length: 50 }, (_, i) => i),
            (i) => kg.upsertEntity({ id: `topic:${i}`, type: "topic", name: `topic${i}` }),
          ),
        ),
      );
      const measure = async (mode: "hybrid" | "vector") => {
        const lat: number[] = [];
        for (let q = 0; q < 60; q++) {
          const query = `${WORDS[q % 10]} ${WORDS[(q * 3) % 10]} topic${q % 50}`;
          const [, ms] = await time(() =>
            rt.runPromise(Effect.flatMap(KnowledgeGraph, (kg) => kg.search({ query, k: 10, mode }))),
          );
          lat.push(ms);
        }
        return lat.slice(10); // first ten warm up
      };
      const vectorOnly = await measure("vector");
      const hybrid = await measure("hybrid");
      const p50 = percentile(hybrid, 50);
      const base = percentile(vectorOnly, 50);
      return [
        {
          bench: "memory.search.hybrid",
          unit: "ms p50 top-10 (lower is better; ratio = hybrid / vector-only)",
          value: round(p50),
          baseline: "vector-only search, same queries and store",
          baselineValue: round(base),
          ratio: round(p50 / base, 2),
          p95: round(percentile(hybrid, 95)),
          chunks: chunks.length,
        },
      ];
    } finally {
      await rt.dispose();
      await db.close();
    }
  },
};

/**
 * Documents through the RAG path (chunk, embed offline, link in the graph, store): one batch call
 * (`ingestMany`, 1,000 documents a call) against the same documents one call each, fresh stores.
 */
const ragIngestBench: Bench = {
  name: "memory.rag.ingest",
  run: async () => {
    const DOCS = 1000;
    const r = prng(13);
    const documents = Array.from({ length: DOCS }, (_, d) => ({
      documentId: `doc${d}`,
      text: Array.from({ length: 5 }, (_, part) => {
        const words = Array.from({ length: 30 }, () => WORDS[Math.floor(r.next() * 10)]!);
        return `# Part ${part}\n\n${words.join(" ")} note${d}-${part}.`;
      }).join("\n\n"),
    }));
    const measure = async (load: (kg: KnowledgeGraphService) => Effect.Effect<unknown, unknown>) => {
      const db = await openDb();
      const rt = knowledgeRuntime(db);
      try {
        const [, ms] = await time(() => rt.runPromise(Effect.flatMap(KnowledgeGraph, load)));
        const chunks = await rt.runPromise(Effect.flatMap(VectorStore, (s) => s.count()));
        return { rate: (chunks / ms) * 1000, chunks };
      } finally {
        await rt.dispose();
        await db.close();
      }
    };
    const single = await measure((kg) => Effect.forEach(documents, (d) => kg.ingest(d), { discard: true }));
    const batch = await measure((kg) => kg.ingestMany({ documents }));
    return [
      {
        bench: "memory.rag.ingest",
        unit: "chunks/s through ingestMany, offline embedder and graph links included (higher is better)",
        value: Math.round(batch.rate),
        baseline: "the same documents through ingest, one call each",
        baselineValue: Math.round(single.rate),
        ratio: round(batch.rate / single.rate, 2),
        documents: DOCS,
        chunks: batch.chunks,
      },
    ];
  },
};

const graphBench: Bench = {
  name: "memory.graph.2hop",
  run: async () => {
    const db = await openDb();
    const rt = ManagedRuntime.make(
      layerSqlGraphStore.pipe(Layer.provide(Layer.effect(SqlClient, makePgliteClient(db)))),
    );
    try {
      const r = prng(5);
      const N = 10_000;
      await rt.runPromise(
        Effect.flatMap(GraphStore, (g) =>
          g.upsertNodes(
            Array.from({ length: N }, (_, i) => ({
              id: `n${i}`,
              type: "entity",
              name: `n${i}`,
              properties: {},
            })),
            0,
          ),
        ),
      );
      // 30,000 edges in three bulk statements (the benchmark measures reads, not this load)
      for (let part = 0; part < 3; part++) {
        const src = Array.from({ length: N }, (_, i) => `n${i}`);
        const dst = Array.from({ length: N }, () => `n${Math.floor(r.next() * N)}`);
        await db.query(
          "INSERT INTO arbor_edges (src, dst, type, valid_from) SELECT s, d, $3, 0 FROM unnest($1::text[], $2::text[]) AS t(s, d)",
          [src, dst, part === 0 ? "knows" : part === 1 ? "works_with" : "mentions"],
        );
      }
      await db.exec("ANALYZE");
      const measure = async (depth: number) => {
        const lat: number[] = [];
        for (let q = 0; q < 110; q++) {
          const id = `n${Math.floor(r.next() * N)}`;
          const [, ms] = await time(() =>
            rt.runPromise(Effect.flatMap(GraphStore, (g) => g.neighbors({ id, depth, asOf: 1 }))),
          );
          lat.push(ms);
        }
        return lat.slice(10);
      };
      const one = await measure(1);
      const two = await measure(2);
      const p50 = percentile(two, 50);
      const base = percentile(one, 50);
      return [
        {
          bench: "memory.graph.2hop",
          unit: "ms p50 neighbourhood with nodes and edges (lower is better; ratio = 2-hop / 1-hop)",
          value: round(p50),
          baseline: "1-hop neighbourhood, same graph",
          baselineValue: round(base),
          ratio: round(p50 / base, 2),
          p95: round(percentile(two, 95)),
          nodes: N,
          edges: 3 * N,
        },
      ];
    } finally {
      await rt.dispose();
      await db.close();
    }
  },
};

/** The memory benchmarks (about two to three minutes in all on two cores, most of it the 100k load). */
export const benches: ReadonlyArray<Bench> = [
  vectorBench(10_000, "10k", 200, 50),
  vectorBench(100_000, "100k", 300, 10),
  hybridBench,
  ragIngestBench,
  graphBench,
];
