/**
 * `memory.*` over the wire on the real knowledge graph (embedded PGlite in a temp dir): the
 * operator remembers and recalls; another tenant works on its own partition only.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Context, Effect, Either, Exit, Layer, Scope } from "effect";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { knowledgeConfig, layerKnowledge } from "../../knowledge/config.ts";
import { KnowledgeGraph } from "../../knowledge/knowledge-graph.ts";
import { memoryCommand } from "../../protocols/cli/memory.ts";
import { ArborClient } from "../../protocols/client/index.ts";
import { memoryRpcMethods } from "../../protocols/ws/extra/memory.ts";
import { removeDataDir, seededDataDir } from "../support/seeded-data-dir.ts";
import { type RunningRuntime, startRuntimeServer } from "./runtime.ts";

const operatorToken = "operator-token-0123456789abcdef";
const tenantToken = "tenant-token-0123456789abcdef";
const scope = Effect.runSync(Scope.make());
let running: RunningRuntime;

const dataDir = seededDataDir("arbor-ws-memory-");

beforeAll(async () => {
  const config = Either.getOrThrow(knowledgeConfig({ dataDir }, {}));
  const services = await Effect.runPromise(Layer.build(layerKnowledge(config)).pipe(Scope.extend(scope)));
  running = await startRuntimeServer(
    {
      tokens: [
        { token: operatorToken, tenant: "default" },
        { token: tenantToken, tenant: "acme" },
      ],
    },
    {},
    [],
    // memory.answer through the runtime's router; when a call names no model, a scripted one that
    // shows what it was given.
    (runtime) =>
      memoryRpcMethods(Context.get(services, KnowledgeGraph), () => ({
        router: runtime.models(),
        guardrails: runtime.guardrails(),
        model: { provider: "scripted", options: { script: [{ text: "From memory: {{system}}" }] } },
      })),
  );
});
afterAll(async () => {
  await running.close();
  await Effect.runPromise(Scope.close(scope, Exit.void));
  removeDataDir(dataDir);
});

it("remembers and recalls per tenant partition, the operator naming a tenant, validates params with paths", async () => {
  const operator = await ArborClient.connect(running.url, { token: operatorToken });
  const tenant = await ArborClient.connect(running.url, { token: tenantToken });
  await operator.request("memory.remember", { entity: "user:bob", attribute: "city", value: "Lisbon" });
  await operator.request("memory.relate", { from: "user:bob", type: "works_at", to: "org:acme" });
  expect(JSON.stringify(await operator.request("memory.recall", { entity: "user:bob" }))).toContain("Lisbon");
  const neighbors = JSON.stringify(await operator.request("memory.neighbors", { id: "user:bob" }));
  expect(neighbors).toContain("org:acme");
  // A tenant works on its own partition: the operator's entity does not exist there, and the
  // tenant's own fact of the same subject neither closes nor shows the operator's.
  await expect(tenant.request("memory.recall", { entity: "user:bob" })).rejects.toMatchObject({
    code: -32602,
    reason: "unknown_entity",
  });
  await tenant.request("memory.remember", { entity: "user:bob", attribute: "city", value: "Oslo" });
  expect(JSON.stringify(await tenant.request("memory.recall", { entity: "user:bob" }))).not.toContain(
    "Lisbon",
  );
  expect(JSON.stringify(await tenant.request("memory.recall", { entity: "user:bob" }))).toContain("Oslo");
  expect(JSON.stringify(await operator.request("memory.recall", { entity: "user:bob" }))).toContain("Lisbon");
  expect(JSON.stringify(await operator.request("memory.recall", { entity: "user:bob" }))).not.toContain(
    "Oslo",
  );
  // The operator may name the tenant's partition; the tenant may not name another's.
  const named = await operator.request("memory.recall", { entity: "user:bob", tenant: "acme" });
  expect(JSON.stringify(named)).toContain("Oslo");
  await expect(
    tenant.request("memory.recall", { entity: "user:bob", tenant: "default" }),
  ).rejects.toMatchObject({ code: -32001, reason: "other_tenant" });
  const invalid = await operator
    .request("memory.remember", { entity: "user:bob", value: 1 })
    .catch((e: unknown) => e);
  expect(invalid).toMatchObject({ code: -32602, data: { problems: [{ path: "$.params.attribute" }] } });
  await operator.close();
  await tenant.close();
});

it("ingests documents in a batch over the wire, and refuses an oversized batch by path", async () => {
  const operator = await ArborClient.connect(running.url, { token: operatorToken });
  const documents = Array.from({ length: 30 }, (_, i) => ({
    documentId: `note-${i}`,
    text: `Note ${i}: the harbour crane number ${i} was serviced.`,
  }));
  const answer = await operator.request("memory.ingestMany", { documents });
  expect(answer).toMatchObject({
    results: documents.map((d) => ({ documentId: d.documentId, changed: true })),
  });
  const found = JSON.stringify(await operator.request("memory.search", { query: "crane serviced", k: 3 }));
  expect(found).toContain("harbour crane");
  const tooMany = Array.from({ length: 1001 }, (_, i) => ({ documentId: `n${i}`, text: "x" }));
  const refused = await operator
    .request("memory.ingestMany", { documents: tooMany })
    .catch((e: unknown) => e);
  expect(refused).toMatchObject({ code: -32602, data: { problems: [{ path: "$.params.documents" }] } });
  await operator.close();
});

/** Runs `arbor memory ingest file --connect … --json` with frames of `frameBytes`, capturing its output. */
const ingestCommand = async (file: string, frameBytes: number) => {
  const out: string[] = [];
  const err: string[] = [];
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const writeErr = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  try {
    const code = await memoryCommand.run([
      "ingest",
      file,
      "--connect",
      running.url,
      "--token",
      operatorToken,
      "--frame-bytes",
      String(frameBytes),
      "--json",
    ]);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    write.mockRestore();
    writeErr.mockRestore();
  }
};

it("`arbor memory ingest --connect` loads more than fits in a frame: batches, and a large document in parts", async () => {
  const dir = mkdtempSync(join(tmpdir(), "arbor-ingest-"));
  const file = join(dir, "load.jsonl");
  const small = Array.from({ length: 60 }, (_, i) =>
    JSON.stringify({ documentId: `note-${i}`, text: `Note ${i} about ${"gardening ".repeat(40)}` }),
  );
  // 40 KB in one document: five times the frame limit given below.
  const large = JSON.stringify({
    documentId: "almanac",
    text: `${"A season of planting and pruning. ".repeat(1200)}The quince harvest ends the almanac.`,
    metadata: { kind: "almanac" },
  });
  writeFileSync(file, [...small, large].join("\n"));
  const first = await ingestCommand(file, 8192);
  const again = await ingestCommand(file, 8192);
  expect([first.code, again.code]).toEqual([0, 0]);
  expect(JSON.parse(first.out)).toMatchObject({ documents: 61, changed: 61, unchanged: 0 });
  // the summary tells the load from the index build it waits for
  const summary = JSON.parse(first.out) as Record<string, number>;
  expect(summary.chunks).toBeGreaterThan(61);
  expect(summary.loadSeconds! + summary.indexSeconds!).toBeCloseTo(summary.seconds!, 5);
  expect(summary.chunksPerSecond).toBe(Math.round(summary.chunks! / summary.loadSeconds!));
  expect(JSON.parse(again.out)).toMatchObject({ documents: 61, changed: 0, unchanged: 61 });
  const operator = await ArborClient.connect(running.url, { token: operatorToken });
  const found = (await operator.request("memory.search", {
    query: "quince harvest almanac",
    k: 1,
    mode: "keyword",
  })) as { results: Array<{ documentId: string; metadata: Record<string, unknown> }> };
  expect(found.results[0]).toMatchObject({ documentId: "almanac", metadata: { kind: "almanac" } });
  await operator.close();
});

it("`arbor memory ingest` stops at a bad line with its number; the frames before it stay loaded", async () => {
  const dir = mkdtempSync(join(tmpdir(), "arbor-ingest-"));
  const file = join(dir, "broken.jsonl");
  const line = (i: number) =>
    JSON.stringify({ documentId: `shed-${i}`, text: `Shed note ${i}: ${"oiling the hinges ".repeat(30)}` });
  // Many frames of 4 KB before line 41, which is not JSON: it is read while frames before it load.
  const good = Array.from({ length: 40 }, (_, i) => line(i));
  writeFileSync(file, [...good, "{not json", line(40)].join("\n"));
  const broken = await ingestCommand(file, 4096);
  writeFileSync(file, [...good, line(40)].join("\n"));
  const fixed = await ingestCommand(file, 4096);
  expect(broken.code).not.toBe(0);
  expect(broken.err).toContain("broken.jsonl:41: not JSON");
  expect(fixed.code).toBe(0);
  // Loaded again after the fix: what went in before the bad line is unchanged, only the rest is new.
  const summary = JSON.parse(fixed.out) as { documents: number; changed: number; unchanged: number };
  expect(summary.documents).toBe(41);
  expect(summary.unchanged).toBeGreaterThan(0);
  expect(summary.changed).toBeGreaterThan(0);
});

it("memory.answer retrieves from the caller's partition and answers through the router with citations; `arbor memory ask` prints them", async () => {
  const operator = await ArborClient.connect(running.url, { token: operatorToken });
  const tenant = await ArborClient.connect(running.url, { token: tenantToken });
  await tenant.request("memory.ingest", {
    documentId: "handbook/keys.md",
    text: "# Keys\n\nRotate the signing keys every 90 days with the vault CLI.",
  });
  await tenant.request("memory.remember", { entity: "vault", attribute: "owner", value: "platform team" });
  await operator.request("memory.ingest", {
    documentId: "ops/keys.md",
    text: "Operator note: signing keys rotate every 30 days.",
  });
  const answer = (await tenant.request("memory.answer", {
    question: "How often do we rotate the signing keys in vault?",
  })) as {
    answer: string;
    citations: Array<{ n: number; documentId: string }>;
    facts: Array<{ label: string; entity: string; value: unknown }>;
    provider: string;
  };
  expect(answer.answer).toContain("[1] (handbook/keys.md)");
  expect(answer.answer).toContain("90 days");
  expect(answer.answer).toContain("Cite the sources");
  expect(answer.answer).not.toContain("30 days"); // the operator's partition is not the tenant's
  expect(answer.citations[0]).toMatchObject({ n: 1, documentId: "handbook/keys.md" });
  expect(answer.facts).toEqual([
    expect.objectContaining({ label: "F1", entity: "vault", value: "platform team" }),
  ]);
  expect(answer.provider).toBe("scripted");
  const similar = (await tenant.request("memory.similarEntities", { query: "the vault", k: 3 })) as {
    entities: Array<{ id: string }>;
  };
  expect(similar.entities.map((e) => e.id)).toContain("vault");
  await expect(tenant.request("memory.similarEntities", { k: 3 })).rejects.toMatchObject({ code: -32602 });
  await expect(tenant.request("memory.answer", { question: "" })).rejects.toMatchObject({ code: -32602 });
  await expect(
    tenant.request("memory.answer", { question: "keys?", model: { provider: "nowhere" } }),
  ).rejects.toMatchObject({ message: expect.stringContaining("nowhere") });

  const out: string[] = [];
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const code = await memoryCommand.run([
    "ask",
    "how often do signing keys rotate?",
    "--connect",
    running.url,
    "--token",
    tenantToken,
  ]);
  write.mockRestore();
  expect(code).toBe(0);
  expect(out.join("")).toContain("[1] handbook/keys.md");
  expect(out.join("")).toContain("— scripted/");
  await operator.close();
  await tenant.close();
});
