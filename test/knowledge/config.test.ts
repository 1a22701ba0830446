/**
 * Configuration and the embedded default: what the environment selects, the errors a person sees
 * for a bad setup, and that the embedded PGlite keeps memory across a restart.
 */
import { rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Effect, Either, Layer, ManagedRuntime } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import {
  DEFAULT_DATA_DIR,
  describeKnowledge,
  knowledgeConfig,
  layerKnowledge,
} from "../../knowledge/config.ts";
import { KnowledgeGraph } from "../../knowledge/knowledge-graph.ts";
import { seededDataDir } from "../support/seeded-data-dir.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("knowledge configuration", () => {
  it("defaults to an embedded PGlite in ./.arbor/data and says so", () => {
    const config = Either.getOrThrow(knowledgeConfig(undefined, {}));
    expect(config.dataDir).toBe(resolve(DEFAULT_DATA_DIR));
    expect(config.pgUrl).toBeUndefined();
    expect(config.neo4j).toBeUndefined();
    expect(describeKnowledge(config)).toMatch(
      /embedded PGlite at .*\.arbor\/data.*offline hashing embedder \(384 dims/,
    );
  });

  it("selects Postgres and Neo4j from the environment, and never prints the passwords", () => {
    const config = Either.getOrThrow(
      knowledgeConfig(
        { dataDir: "/ignored" },
        {
          ARBOR_PG_URL: "postgres://arbor:pg-secret@db.internal:5432/arbor",
          NEO4J_URI: "neo4j://graph.internal:7687",
          NEO4J_PASSWORD: "neo-secret",
        },
      ),
    );
    expect(config.pgUrl).toBe("postgres://arbor:pg-secret@db.internal:5432/arbor");
    expect(config.neo4j).toEqual({
      uri: "neo4j://graph.internal:7687",
      user: "neo4j",
      password: "neo-secret",
    });
    const line = describeKnowledge(config);
    expect(line).toContain("Postgres at postgres://***@db.internal:5432/arbor");
    expect(line).toContain("graph in Neo4j at neo4j://graph.internal:7687");
    expect(line).not.toMatch(/secret/);
  });

  it("refuses a Neo4j URI without a password and an unknown setting, saying what to fix", () => {
    const noPassword = knowledgeConfig({}, { NEO4J_URI: "neo4j://x:7687" });
    expect(Either.isLeft(noPassword) && noPassword.left).toMatchObject({
      _tag: "KnowledgeConfigError",
      fault: "config",
      detail: "NEO4J_URI is set but NEO4J_PASSWORD is not",
    });
    const typo = knowledgeConfig({ dimensions: 12 }, {});
    expect(Either.isLeft(typo) && typo.left.message).toMatch(/dimensions/);
  });

  it("refuses HNSW settings pgvector would reject, naming the setting and the limit", () => {
    const tooDense = knowledgeConfig({ hnsw: { m: 20, efConstruction: 30 } }, {});
    expect(Either.isLeft(tooDense) && tooDense.left).toMatchObject({
      _tag: "KnowledgeConfigError",
      reason: "invalid_config",
      detail: "knowledge section: hnsw.efConstruction (30) must be at least twice hnsw.m (20)",
    });
    const tooLong = knowledgeConfig({ efSearch: 5000 }, {});
    expect(Either.isLeft(tooLong) && tooLong.left.message).toMatch(/efSearch is 5000; .* 1 to 1000/);
    expect(Either.isRight(knowledgeConfig({ hnsw: { m: 16, efConstruction: 64 }, efSearch: 100 }, {}))).toBe(
      true,
    );
  });

  it("asks for a model router when provider embeddings are configured without one", async () => {
    const config = Either.getOrThrow(
      knowledgeConfig(
        { embedder: { provider: "openai", model: "text-embedding-3-small", dimension: 1536 } },
        {},
      ),
    );
    const error = await Effect.runPromise(Effect.scoped(Effect.flip(Layer.build(layerKnowledge(config)))));
    expect(error).toMatchObject({ _tag: "KnowledgeConfigError", reason: "invalid_config" });
    expect(error.message).toContain("no model router");
  });

  it("keeps memory in the data dir across a restart", async () => {
    const dataDir = seededDataDir("arbor-knowledge-");
    dirs.push(dirname(dataDir));
    const config = Either.getOrThrow(knowledgeConfig({ dataDir }, {}));
    const first = ManagedRuntime.make(layerKnowledge(config));
    await first.runPromise(
      Effect.flatMap(KnowledgeGraph, (kg) =>
        Effect.all([
          kg.remember({ entity: "user:alice", attribute: "city", value: "Oslo" }),
          kg.relate({ from: "user:alice", to: "org:acme", type: "works_at" }),
          kg.ingest({ documentId: "note", text: "Alice moved to Oslo to work at ACME." }),
        ]),
      ),
    );
    await first.dispose();
    const second = ManagedRuntime.make(layerKnowledge(config));
    const after = await second.runPromise(
      Effect.flatMap(KnowledgeGraph, (kg) =>
        Effect.all({
          facts: kg.recall({ entity: "user:alice" }),
          neighbors: kg.neighbors({ id: "user:alice" }),
          search: kg.search({ query: "Oslo", mode: "keyword" }),
          again: kg.ingest({ documentId: "note", text: "Alice moved to Oslo to work at ACME." }),
        }),
      ),
    );
    await second.dispose();
    expect(after.facts.facts.map((f) => f.value)).toEqual(["Oslo"]);
    expect(after.neighbors.nodes.map((n) => n.id).sort()).toEqual(["org:acme", "user:alice"]);
    expect(after.search.results.map((r) => r.documentId)).toEqual(["note"]);
    expect(after.again.changed).toBe(false);
  });
});
