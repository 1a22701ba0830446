/**
 * Embedders: the offline hashing embedder's honest properties, and provider embeddings through the
 * economic router's OpenAI adapter against a local server speaking the `/v1/embeddings` wire format.
 */
import { Effect, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Embedder,
  HASHING_EMBEDDER_VERSION,
  hashingVector,
  makeHashingEmbedder,
  makeRouterEmbedder,
  stem,
} from "../../knowledge/embedder.ts";
import { layerSqlGraphStore } from "../../knowledge/graph-store-sql.ts";
import { KnowledgeGraph, layerKnowledgeGraph } from "../../knowledge/knowledge-graph.ts";
import { SqlClient } from "../../knowledge/sql-client.ts";
import { layerSqlVectorStore } from "../../knowledge/vector-store.ts";
import { makeRig, useServers } from "../providers/harness.ts";
import { pgliteAdapter, runtimeOf, type SqlAdapter } from "./support.ts";

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) =>
  a.reduce((s, x, i) => s + x * b[i]!, 0);

describe("offline hashing embedder", () => {
  it("puts texts that share words and word pieces close, and unrelated words far apart", () => {
    const v = (t: string) => hashingVector(t, 384);
    expect(Math.hypot(...v("anything at all"))).toBeCloseTo(1, 10);
    expect(cosine(v("the runner was running"), v("runners run"))).toBeGreaterThan(0.3);
    expect(cosine(v("the runner was running"), v("quiet harbour at dawn"))).toBeLessThan(0.15);
    // what it cannot do: synonyms share no letters, so they are not close
    expect(cosine(v("car"), v("automobile"))).toBeLessThan(0.2);
    expect(v("")).toHaveLength(384);
  });

  it("brings a description near its inflected wording and ignores stop words", () => {
    const v = (t: string) => hashingVector(t, 384);
    // a man page's description against how its body says it
    expect(cosine(v("list directory contents"), v("lists the contents of directories"))).toBeGreaterThan(0.7);
    expect(cosine(v("the cat"), v("a cat"))).toBeCloseTo(1, 10);
    expect(stem("directories")).toBe(stem("directory"));
    expect(stem("running")).toBe(stem("runs"));
  });

  it("names its version, so a store filled by an older one refuses it instead of mixing vectors", () => {
    expect(makeHashingEmbedder().name).toBe(`hashing-v${HASHING_EMBEDDER_VERSION}-384`);
    expect(makeHashingEmbedder().name).not.toBe("hashing-384");
  });

  it("is deterministic and batch-independent", async () => {
    const e = makeHashingEmbedder({ dimension: 64 });
    const [a, b] = await Effect.runPromise(e.embed(["alpha beta", "gamma"]));
    const [again] = await Effect.runPromise(e.embed(["alpha beta"]));
    expect(again).toEqual(a);
    expect(b).not.toEqual(a);
  });
});

describe("a store an older hashing version filled", () => {
  let adapter: SqlAdapter;
  beforeAll(async () => {
    adapter = await pgliteAdapter();
  });
  afterAll(async () => {
    await adapter.close();
  });

  it("version 1 still makes the vectors it made before version 2 existed", () => {
    const v1 = hashingVector("Runners were running the relay", 384, 1);
    expect(v1.filter((x) => x !== 0)).toHaveLength(32);
    expect(v1.slice(0, 7).map((x) => Number(x.toFixed(6)))).toEqual([0, 0.221644, 0, 0, 0, 0, 0.221644]);
    expect(makeHashingEmbedder({ version: 1 }).name).toBe("hashing-384");
  });

  it("keeps being served by that version after an upgrade: it opens, finds what it holds, and mixes nothing", async () => {
    const open = (version?: 1) =>
      runtimeOf(
        layerKnowledgeGraph().pipe(
          Layer.provide(
            Layer.mergeAll(
              layerSqlGraphStore,
              layerSqlVectorStore({ dimension: 384 }),
              Layer.succeed(Embedder, makeHashingEmbedder(version ? { version } : {})),
            ),
          ),
          Layer.provide(adapter.layer),
        ),
      );
    const before = open(1);
    await before.run(
      Effect.flatMap(KnowledgeGraph, (kg) =>
        Effect.gen(function* () {
          yield* kg.ingest({ documentId: "relay", text: "The runners were running the relay at dawn." });
          yield* kg.ingest({ documentId: "harbour", text: "Boats rest in the quiet harbour." });
        }),
      ),
    );
    await before.dispose();
    // The upgraded default (version 2) on the same store: it searches with version 1's vectors.
    const after = open();
    try {
      const { results } = await after.run(
        Effect.flatMap(KnowledgeGraph, (kg) =>
          Effect.gen(function* () {
            yield* kg.ingest({ documentId: "garden", text: "Roses and tulips in the spring garden." });
            return yield* kg.search({ query: "tulips garden", mode: "vector", k: 1 });
          }),
        ),
      );
      expect(results.map((r) => r.documentId)).toEqual(["garden"]);
      const recorded = await runtimeOf(adapter.layer).run(
        Effect.flatMap(SqlClient, (sql) =>
          sql.query<{ value: unknown }>("SELECT value FROM arbor_meta WHERE key = 'embedding_model'"),
        ),
      );
      expect(recorded.map((r) => r.value)).toEqual(["hashing-384"]);
    } finally {
      await after.dispose();
    }
  });
});

describe("provider embeddings through the model router", () => {
  const start = useServers();
  const DIM = 4;
  // A toy embedding model: one axis per topic word.
  const embed = (text: string) => {
    const t = text.toLowerCase();
    return [t.includes("bee") ? 1 : 0, t.includes("engine") ? 1 : 0, t.includes("rose") ? 1 : 0, 0.1];
  };
  const serve = () =>
    start((req) => {
      const input = ((req.body ?? {}) as { input?: string[] }).input ?? [];
      return {
        json: {
          object: "list",
          data: input.map((text, index) => ({ object: "embedding", index, embedding: embed(text) })),
          model: "toy-embed",
          usage: { prompt_tokens: input.length, total_tokens: input.length },
        },
      };
    });

  let adapter: SqlAdapter;
  beforeAll(async () => {
    adapter = await pgliteAdapter();
  });
  afterAll(async () => {
    await adapter.close();
  });

  it("ingests and searches with the provider's vectors, in batches", async () => {
    const s = await serve();
    const { router } = makeRig(
      {},
      { OPENAI_API_KEYS: "sk-test-knowledge-0001", OPENAI_BASE_URL: `${s.url}/v1` },
    );
    const embedder = makeRouterEmbedder({
      router,
      choice: { provider: "openai", model: "toy-embed" },
      dimension: DIM,
      batchSize: 2,
    });
    const stores = Layer.mergeAll(
      layerSqlGraphStore,
      layerSqlVectorStore({ dimension: DIM }),
      Layer.succeed(Embedder, embedder),
    );
    const rt = runtimeOf(
      layerKnowledgeGraph({ chunking: { maxChars: 50, overlapChars: 0 } }).pipe(
        Layer.provide(stores),
        Layer.provide(adapter.layer),
      ),
    );
    try {
      const { results } = await rt.run(
        Effect.flatMap(KnowledgeGraph, (kg) =>
          Effect.gen(function* () {
            yield* kg.ingest({
              documentId: "bees",
              text: "All about the bee and its hive. The queen bee lays the eggs. Worker bees gather nectar.",
            });
            yield* kg.ingest({ documentId: "engines", text: "How a steam engine works." });
            yield* kg.ingest({ documentId: "roses", text: "Pruning a rose bush." });
            return yield* kg.search({ query: "engine", mode: "vector", k: 1 });
          }),
        ),
      );
      expect(results.map((r) => r.documentId)).toEqual(["engines"]);
      expect(s.requests.every((r) => r.path === "/v1/embeddings")).toBe(true);
      // the three chunks of the first document go in batches of two
      expect(s.requests.map((r) => (r.body as { input: string[] }).input.length)).toEqual([2, 1, 1, 1, 1]);
      expect(embedder.name).toBe("router:openai/toy-embed");
    } finally {
      await rt.dispose();
    }
  });

  it("reports a model whose vectors do not have the configured dimension as a config error", async () => {
    const s = await serve();
    const { router } = makeRig(
      {},
      { OPENAI_API_KEYS: "sk-test-knowledge-0002", OPENAI_BASE_URL: `${s.url}/v1` },
    );
    const embedder = makeRouterEmbedder({
      router,
      choice: { provider: "openai", model: "toy-embed" },
      dimension: 8,
    });
    const error = await Effect.runPromise(Effect.flip(embedder.embed(["bee"])));
    expect(error).toMatchObject({ _tag: "EmbedError", reason: "bad_dimension", fault: "config" });
    expect(error.message).toContain("returned 4-dimensional vectors");
  });
});
