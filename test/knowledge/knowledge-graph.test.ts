/**
 * The memory service end to end on an in-process PGlite: facts with supersession and TTL tiers
 * (under TestClock), relations with validity intervals, typed errors for bad input, and the
 * `memory.*` wire methods.
 */
import { Effect, Layer, TestClock, TestContext } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  KnowledgeGraph,
  type KnowledgeGraphService,
  layerKnowledgeGraph,
  type MemoryError,
} from "../../knowledge/knowledge-graph.ts";
import { callMemoryMethod } from "../../knowledge/methods.ts";
import { memoryTool } from "../../knowledge/tools.ts";
import { offlineStores, pgliteAdapter, runtimeOf, type SqlAdapter } from "./support.ts";

const D = 256;
let adapter: SqlAdapter;
let rt: ReturnType<typeof runtimeOf<KnowledgeGraph, unknown>>;

/** Runs a test body on the memory service under a TestClock that starts at 0. */
const withKg = <A, E>(body: (kg: KnowledgeGraphService) => Effect.Effect<A, E>) =>
  rt.run(Effect.flatMap(KnowledgeGraph, body).pipe(Effect.provide(TestContext.TestContext)));
const failureOf = <A, E>(body: (kg: KnowledgeGraphService) => Effect.Effect<A, E>) =>
  rt.run(Effect.flip(Effect.flatMap(KnowledgeGraph, body)));

beforeAll(async () => {
  adapter = await pgliteAdapter();
  const stores = offlineStores(D);
  rt = runtimeOf(
    layerKnowledgeGraph({
      multiValued: ["tag"],
      singleValuedRelations: ["works_at"],
      workingMemory: { capacity: 100, maxTtlMs: 60_000 },
    }).pipe(Layer.provide(stores), Layer.provide(adapter.layer)),
  );
});
afterAll(async () => {
  await rt.dispose();
  await adapter.close();
});

describe("facts", () => {
  it("a new value supersedes the old one, which stays in history and asOf", async () => {
    const { current, past, history, second } = await withKg((kg) =>
      Effect.gen(function* () {
        yield* TestClock.setTime(1_000);
        yield* kg.remember({ entity: "user:alice", attribute: "city", value: "Paris" });
        yield* TestClock.setTime(2_000);
        const second = yield* kg.remember({ entity: "user:alice", attribute: "city", value: "Oslo" });
        yield* TestClock.setTime(3_000);
        return {
          second,
          current: yield* kg.recall({ entity: "user:alice" }),
          past: yield* kg.recall({ entity: "user:alice", attribute: "city", asOf: 1_500 }),
          history: yield* kg.recall({ entity: "user:alice", attribute: "city", history: true }),
        };
      }),
    );
    expect(second).toMatchObject({ superseded: 1, tier: "long_term", expiresAt: null });
    expect(current.facts).toEqual([{ attribute: "city", value: "Oslo", validFrom: 2_000, validTo: null }]);
    expect(past.facts.map((f) => f.value)).toEqual(["Paris"]);
    expect(history.facts).toEqual([
      { attribute: "city", value: "Paris", validFrom: 1_000, validTo: 2_000 },
      { attribute: "city", value: "Oslo", validFrom: 2_000, validTo: null },
    ]);
  });

  it("keeps every value of a multi-valued attribute", async () => {
    const { facts } = await withKg((kg) =>
      Effect.gen(function* () {
        yield* kg.remember({ entity: "user:bob", attribute: "tag", value: "admin" });
        yield* kg.remember({ entity: "user:bob", attribute: "tag", value: "ops" });
        yield* kg.remember({ entity: "user:bob", attribute: "tag", value: "ops" });
        return yield* kg.recall({ entity: "user:bob", attribute: "tag" });
      }),
    );
    expect(facts.map((f) => f.value)).toEqual(["admin", "ops"]);
  });

  it("short TTLs live in working memory and expire on the clock; long ones expire in the store", async () => {
    const seen = await withKg((kg) =>
      Effect.gen(function* () {
        yield* TestClock.setTime(10_000);
        yield* kg.remember({ entity: "user:carol", attribute: "status", value: "long-term" });
        const short = yield* kg.remember({
          entity: "user:carol",
          attribute: "status",
          value: "in a meeting",
          ttlMs: 30_000,
        });
        const long = yield* kg.remember({
          entity: "user:carol",
          attribute: "project",
          value: "apollo",
          ttlMs: 3_600_000,
        });
        const during = yield* kg.recall({ entity: "user:carol" });
        yield* TestClock.adjust(31_000);
        const after = yield* kg.recall({ entity: "user:carol" });
        yield* TestClock.adjust(3_600_000);
        const later = yield* kg.recall({ entity: "user:carol" });
        return { short, long, during, after, later };
      }),
    );
    expect(seen.short).toMatchObject({ tier: "working", expiresAt: 40_000 });
    expect(seen.long).toMatchObject({ tier: "long_term", expiresAt: 3_610_000 });
    expect(seen.during.facts.map((f) => [f.attribute, f.value])).toEqual([
      ["project", "apollo"],
      ["status", "in a meeting"],
    ]);
    // The working-memory value hid the stored one while it lived; the stored one shows again after.
    expect(seen.after.facts.map((f) => [f.attribute, f.value])).toEqual([
      ["project", "apollo"],
      ["status", "long-term"],
    ]);
    expect(seen.later.facts.map((f) => f.attribute)).toEqual(["status"]);
  });

  it("forgets in both tiers", async () => {
    const facts = await withKg((kg) =>
      Effect.gen(function* () {
        yield* kg.remember({ entity: "user:dan", attribute: "likes", value: "tea" });
        yield* kg.remember({ entity: "user:dan", attribute: "mood", value: "fine", ttlMs: 1_000 });
        const { forgotten } = yield* kg.forget({ entity: "user:dan" });
        return { forgotten, left: yield* kg.recall({ entity: "user:dan" }) };
      }),
    );
    expect(facts).toEqual({ forgotten: 2, left: { facts: [] } });
  });
});

describe("relations", () => {
  it("a contradicting single-valued relation closes the old one; neighbours honour asOf and depth", async () => {
    const seen = await withKg((kg) =>
      Effect.gen(function* () {
        yield* kg.upsertEntity({ id: "org:acme", type: "org", name: "ACME" });
        yield* kg.upsertEntity({ id: "org:globex", type: "org", name: "Globex" });
        yield* TestClock.setTime(100);
        yield* kg.relate({ from: "person:eve", to: "org:acme", type: "works_at" });
        yield* kg.relate({ from: "org:acme", to: "city:berlin", type: "located_in" });
        yield* TestClock.setTime(200);
        const moved = yield* kg.relate({
          from: "person:eve",
          to: "org:globex",
          type: "works_at",
          properties: { role: "cto" },
        });
        const now = yield* kg.neighbors({ id: "person:eve" });
        const before = yield* kg.neighbors({ id: "person:eve", depth: 2, asOf: 150 });
        const paths = yield* kg.paths({ from: "person:eve", to: "city:berlin", asOf: 150 });
        return { moved, now, before, paths };
      }),
    );
    expect(seen.moved.closed).toBe(1);
    expect(seen.moved.edge).toMatchObject({
      from: "person:eve",
      to: "org:globex",
      properties: { role: "cto" },
    });
    expect(seen.now.nodes.map((n) => n.id).sort()).toEqual(["org:globex", "person:eve"]);
    expect(seen.before.nodes.map((n) => n.id).sort()).toEqual(["city:berlin", "org:acme", "person:eve"]);
    expect(seen.paths.paths[0]!.nodes).toEqual(["person:eve", "org:acme", "city:berlin"]);
  });
});

describe("bad input", () => {
  it("names an unknown entity", async () => {
    const attempts: ReadonlyArray<(kg: KnowledgeGraphService) => Effect.Effect<unknown, MemoryError>> = [
      (kg) => kg.recall({ entity: "nobody" }),
      (kg) => kg.neighbors({ id: "nobody" }),
      (kg) => kg.lineage({ agent: "/no/such/agent" }),
    ];
    for (const attempt of attempts) {
      const error = await failureOf(attempt);
      expect(error).toMatchObject({ _tag: "KnowledgeInputError", reason: "unknown_entity", fault: "user" });
      expect(error.message).toContain("no");
    }
  });

  it("refuses an empty query and params that do not match the schema", async () => {
    expect(await failureOf((kg) => kg.search({ query: "   " }))).toMatchObject({ reason: "empty_query" });
    const bad = await failureOf((kg) => callMemoryMethod(kg, "memory.recall", { entity: 42 }));
    expect(bad).toMatchObject({ _tag: "KnowledgeInputError", reason: "invalid_params" });
    expect(bad.message).toContain("entity");
    const extra = await failureOf((kg) => callMemoryMethod(kg, "memory.search", { query: "x", k: 0 }));
    expect(extra).toMatchObject({ reason: "invalid_params" });
  });

  it("answers the wire methods with the wire shapes", async () => {
    const out = await withKg((kg) =>
      Effect.gen(function* () {
        yield* TestClock.setTime(5);
        yield* callMemoryMethod(kg, "memory.remember", {
          entity: "user:wire",
          attribute: "x",
          value: { deep: [1] },
        });
        return yield* callMemoryMethod(kg, "memory.recall", { entity: "user:wire" });
      }),
    );
    expect(out).toEqual({ facts: [{ attribute: "x", value: { deep: [1] }, validFrom: 5, validTo: null }] });
  });
});

describe("tenant partitions", () => {
  const agent = (tenant: string | undefined) => ({
    tree: "t",
    treeId: "t",
    address: "/t/root",
    id: "root-1",
    name: "root",
    kind: "parent" as const,
    depth: 0,
    ...(tenant !== undefined ? { tenant } : {}),
    settings: {},
  });
  const ops = {
    spawn: () => Effect.die("unused"),
    send: () => Effect.die("unused"),
    ask: () => Effect.die("unused"),
    resolve: (to: string) => to,
  };
  const call = (
    kg: KnowledgeGraphService,
    name: "memory.remember" | "memory.recall",
    tenant: string | undefined,
    args: unknown,
  ) => memoryTool(kg, name).run(args, { agent: agent(tenant), ops });

  it("gives each tenant's agents their own memory: B neither reads nor closes A's facts", async () => {
    const remember = { entity: "user:ann", attribute: "city", value: "Paris" };
    await withKg((kg) => call(kg, "memory.remember", "tenant-a", remember));
    const byB = await rt.run(
      Effect.flip(
        Effect.flatMap(KnowledgeGraph, (kg) => call(kg, "memory.recall", "tenant-b", { entity: "user:ann" })),
      ),
    );
    expect(String(byB)).toContain("no entity");
    await withKg((kg) => call(kg, "memory.remember", "tenant-b", { ...remember, value: "Rome" }));
    const byA = await withKg((kg) =>
      call(kg, "memory.recall", "tenant-a", { entity: "user:ann", history: true }),
    );
    expect(JSON.stringify(byA)).toContain("Paris");
    expect(JSON.stringify(byA)).not.toContain("Rome");
    expect(JSON.stringify(byA)).toContain('"validTo":null');
    const byOperator = await rt.run(
      Effect.flip(Effect.flatMap(KnowledgeGraph, (kg) => kg.recall({ entity: "user:ann" }))),
    );
    expect(byOperator).toMatchObject({ reason: "unknown_entity" });
  });

  it("keeps documents, search and lineage inside the partition", async () => {
    await withKg((kg) =>
      kg.partition("tenant-a").ingest({ documentId: "plan", text: "The zeppelin launches at dawn." }),
    );
    const found = await withKg((kg) => kg.partition("tenant-a").search({ query: "zeppelin dawn", k: 3 }));
    expect(JSON.stringify(found)).toContain("zeppelin");
    const elsewhere = await withKg((kg) => kg.partition("tenant-b").search({ query: "zeppelin dawn", k: 3 }));
    expect(JSON.stringify(elsewhere)).not.toContain("zeppelin");
    await withKg((kg) =>
      kg.partition("tenant-a").relate({ from: "agent:/t/child", to: "agent:/t/root", type: "spawned_by" }),
    );
    const lineageB = await rt.run(
      Effect.flip(
        Effect.flatMap(KnowledgeGraph, (kg) => kg.partition("tenant-b").lineage({ agent: "/t/child" })),
      ),
    );
    expect(lineageB).toMatchObject({ reason: "unknown_entity" });
    const neighborsB = await rt.run(
      Effect.flip(
        Effect.flatMap(KnowledgeGraph, (kg) => kg.partition("tenant-b").neighbors({ id: "agent:/t/root" })),
      ),
    );
    expect(neighborsB).toMatchObject({ reason: "unknown_entity" });
  });
});
