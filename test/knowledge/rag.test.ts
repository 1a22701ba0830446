/**
 * RAG end to end on an in-process PGlite with the offline embedder: chunking, idempotent ingest,
 * vector / keyword / hybrid retrieval with filters, graph expansion, fusion order, and the
 * budgeted context with citations.
 */
import { Effect, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chunkText } from "../../knowledge/chunker.ts";
import {
  KnowledgeGraph,
  type KnowledgeGraphService,
  layerKnowledgeGraph,
} from "../../knowledge/knowledge-graph.ts";
import { buildContext, generateWithContext } from "../../knowledge/rag/context.ts";
import { fuseByScore } from "../../knowledge/rag/fusion.ts";
import { makeScriptedProvider } from "../../plugins/providers/scripted.ts";
import { directModelRouter } from "../../runtime/defaults.ts";
import { offlineStores, pgliteAdapter, runtimeOf, type SqlAdapter } from "./support.ts";

const D = 256;
let adapter: SqlAdapter;
let rt: ReturnType<typeof runtimeOf<KnowledgeGraph, unknown>>;
const withKg = <A, E>(body: (kg: KnowledgeGraphService) => Effect.Effect<A, E>) =>
  rt.run(Effect.flatMap(KnowledgeGraph, body));

const GUIDE = `# Gardening guide

## Tomatoes

Tomatoes need full sun and regular watering. Stake the plants early so the stems do not break.

Pinch out side shoots every week during summer.

## Roses

Roses prefer rich soil. Prune roses in late winter, cutting just above an outward-facing bud.
`;

beforeAll(async () => {
  adapter = await pgliteAdapter();
  const stores = offlineStores(D);
  rt = runtimeOf(
    layerKnowledgeGraph({ chunking: { maxChars: 200, overlapChars: 60 } }).pipe(
      Layer.provide(stores),
      Layer.provide(adapter.layer),
    ),
  );
});
afterAll(async () => {
  await rt.dispose();
  await adapter.close();
});

describe("chunking", () => {
  it("splits by headings, then paragraphs and sentences, with overlap and a size limit", () => {
    const chunks = chunkText(GUIDE, { maxChars: 120, overlapChars: 50 });
    expect(chunks.every((c) => c.text.length <= 120)).toBe(true);
    expect(chunks.map((c) => c.headings.at(-1))).toContain("Roses");
    expect(chunks.find((c) => c.text.includes("Prune roses"))!.headings).toEqual([
      "Gardening guide",
      "Roses",
    ]);
    // consecutive chunks of one section share their boundary sentence
    const tomato = chunks.filter((c) => c.headings.at(-1) === "Tomatoes");
    expect(tomato.length).toBeGreaterThan(1);
    const opening = tomato[1]!.text.split("\n\n")[0]!;
    expect(opening.length).toBeGreaterThan(10);
    expect(tomato[0]!.text.endsWith(opening)).toBe(true);
    expect(chunkText(GUIDE)).toEqual(chunkText(GUIDE));
  });

  it("splits sentences only where one ends, so numbers, versions and dotted names stay as written", () => {
    const paragraph = Array.from(
      { length: 6 },
      (_, i) =>
        `Release v1.2.${i} sets the weight to 0.7 and calls fs.readFile (see example.com). It is stable.`,
    ).join(" ");
    const chunks = chunkText(paragraph, { maxChars: 200, overlapChars: 40 });
    expect(chunks.length).toBeGreaterThan(2);
    const text = chunks.map((c) => c.text).join(" ");
    for (const kept of ["v1.2.5", "0.7", "fs.readFile", "example.com"]) expect(text).toContain(kept);
    expect(text).not.toMatch(/\d\. \d|fs\. readFile|example\. com/);
    // every chunk is a run of whole sentences of the text (the overlap set off by a blank line)
    for (const c of chunks) expect(paragraph).toContain(c.text.replace(/\s+/g, " "));
  });

  it("chunks a text of headings only as their titles, so a title-only document can be found", () => {
    expect(chunkText("# Release notes 2.0")).toEqual([{ ord: 0, text: "Release notes 2.0", headings: [] }]);
    expect(chunkText("# Outline\n\n## Part one ##\n## Part two").map((c) => c.text)).toEqual([
      "Outline\n\nPart one\n\nPart two",
    ]);
    expect(chunkText("  \n\n")).toEqual([]);
  });
});

describe("ingest", () => {
  it("is idempotent by content hash and replaces the chunks of a changed document", async () => {
    const results = await withKg((kg) =>
      Effect.gen(function* () {
        const first = yield* kg.ingest({ documentId: "guide", text: GUIDE, metadata: { lang: "en" } });
        const again = yield* kg.ingest({ documentId: "guide", text: GUIDE, metadata: { lang: "en" } });
        const changed = yield* kg.ingest({
          documentId: "guide",
          text: GUIDE.replace("late winter", "early spring"),
          metadata: { lang: "en" },
        });
        const hits = yield* kg.search({ query: "prune roses winter spring", mode: "keyword", k: 10 });
        return { first, again, changed, hits };
      }),
    );
    expect(results.first.changed).toBe(true);
    expect(results.first.chunks).toBeGreaterThan(1);
    expect(results.again).toEqual({ ...results.first, changed: false });
    expect(results.changed.changed).toBe(true);
    const texts = results.hits.results.map((h) => h.text).join("\n");
    expect(texts).toContain("early spring");
    expect(texts).not.toContain("late winter");
  });

  it("ingests a batch: results in order, unchanged documents skipped, changed ones replaced", async () => {
    const doc = (documentId: string, text: string) => ({ documentId, text, metadata: { batch: true } });
    const first = await withKg((kg) =>
      kg.ingestMany({
        documents: [
          doc("batch-a", "Apricots ripen in July."),
          doc("batch-b", "Blackcurrants like damp soil."),
        ],
      }),
    );
    expect(first.results).toEqual([
      { documentId: "batch-a", chunks: 1, changed: true },
      { documentId: "batch-b", chunks: 1, changed: true },
    ]);
    const second = await withKg((kg) =>
      kg.ingestMany({
        documents: [
          doc("batch-c", "Cherries need netting against birds."),
          doc("batch-a", "Apricots ripen in July."),
          doc("batch-b", "Blackcurrants like moist soil."),
        ],
      }),
    );
    expect(second.results.map((r) => [r.documentId, r.changed])).toEqual([
      ["batch-c", true],
      ["batch-a", false],
      ["batch-b", true],
    ]);
    const hits = await withKg((kg) =>
      kg.search({ query: "cherries blackcurrants soil", mode: "keyword", k: 10, filter: { batch: true } }),
    );
    const texts = hits.results.map((h) => h.text);
    expect(texts).toContain("Cherries need netting against birds.");
    expect(texts).toContain("Blackcurrants like moist soil.");
    expect(texts).not.toContain("Blackcurrants like damp soil.");
  });

  it("checks the whole batch before writing: an empty document or a repeated id stores nothing", async () => {
    const fail = (documents: ReadonlyArray<{ documentId: string; text: string }>) =>
      rt.run(Effect.flip(Effect.flatMap(KnowledgeGraph, (kg) => kg.ingestMany({ documents }))));
    const empty = await fail([
      { documentId: "quince-1", text: "Quinces turn golden in autumn." },
      { documentId: "quince-2", text: "  " },
    ]);
    expect(empty).toMatchObject({
      _tag: "KnowledgeInputError",
      reason: "empty_document",
      detail: "document quince-2 has no text (documents[1])",
    });
    const repeated = await fail([
      { documentId: "quince-1", text: "Quinces turn golden in autumn." },
      { documentId: "quince-1", text: "Quinces again." },
    ]);
    expect(repeated).toMatchObject({ reason: "invalid_params" });
    expect(repeated.message).toContain("documents[1] repeats the id quince-1 of documents[0]");
    const hits = await withKg((kg) => kg.search({ query: "quinces golden", mode: "keyword", k: 5 }));
    expect(hits.results).toEqual([]);
  });

  it("links each chunk of a batch to the entities it mentions or its document declares, and only those", async () => {
    const graph = await withKg((kg) =>
      Effect.gen(function* () {
        yield* kg.upsertEntity({ id: "org:plumtree", type: "org", name: "Plumtree Nursery" });
        yield* kg.upsertEntity({ id: "person:grace", type: "person", name: "Grace Hopper" });
        yield* kg.ingestMany({
          documents: [
            { documentId: "link-a", text: "Plumtree Nursery sells pear saplings." },
            {
              documentId: "link-b",
              text: "Pears keep best in a cool cellar.",
              metadata: { entities: ["person:grace", "person:nobody"] },
            },
            { documentId: "link-c", text: "Nothing known is named here." },
          ],
        });
        return {
          nursery: yield* kg.neighbors({ id: "org:plumtree", depth: 2 }),
          grace: yield* kg.neighbors({ id: "person:grace", depth: 2 }),
          plain: yield* kg.neighbors({ id: "link-c" }),
        };
      }),
    );
    const ids = (n: { nodes: ReadonlyArray<{ id: string }> }) => n.nodes.map((x) => x.id).sort();
    expect(ids(graph.nursery)).toEqual(["link-a", "link-a#0", "org:plumtree"]);
    expect(ids(graph.grace)).toEqual(["link-b", "link-b#0", "person:grace"]);
    expect(ids(graph.plain)).toEqual(["link-c"]);
  });

  it("refuses an empty document", async () => {
    const error = await rt.run(
      Effect.flip(Effect.flatMap(KnowledgeGraph, (kg) => kg.ingest({ documentId: "e", text: " \n " }))),
    );
    expect(error).toMatchObject({ _tag: "KnowledgeInputError", reason: "empty_document" });
  });
});

describe("retrieval", () => {
  beforeAll(async () => {
    await withKg((kg) =>
      Effect.gen(function* () {
        yield* kg.upsertEntity({ id: "person:ada", type: "person", name: "Ada Lovelace" });
        yield* kg.upsertEntity({ id: "machine:ae", type: "machine", name: "Analytical Engine" });
        yield* kg.relate({ from: "person:ada", to: "machine:ae", type: "wrote_about" });
        yield* kg.ingest({
          documentId: "engine",
          text: "The Analytical Engine was a proposed mechanical general-purpose computer designed by Charles Babbage.",
          metadata: { lang: "en", topic: "history" },
        });
        yield* kg.ingest({
          documentId: "bees",
          text: "Honey bees communicate the direction of flowers with a waggle dance.",
          metadata: { lang: "en", topic: "nature" },
        });
        yield* kg.ingest({
          documentId: "bienen",
          text: "Honigbienen zeigen die Richtung der Blumen mit einem Schwänzeltanz. Honey bees dance.",
          metadata: { lang: "de", topic: "nature" },
        });
      }),
    );
  });

  it("vector and keyword modes find the matching passage first, with their own ranks", async () => {
    const { vector, keyword } = await withKg((kg) =>
      Effect.gen(function* () {
        return {
          vector: yield* kg.search({ query: "waggle dance of honey bees", mode: "vector", k: 3 }),
          keyword: yield* kg.search({ query: "waggle dance", mode: "keyword", k: 3 }),
        };
      }),
    );
    expect(vector.results[0]).toMatchObject({ documentId: "bees", chunkId: "bees#0", ranks: { vector: 1 } });
    expect(vector.results[0]!.score).toBeGreaterThan(0.3);
    // any query word may match: the German page's "Honey bees dance" matches "dance", ranked lower
    expect(keyword.results.map((r) => r.documentId)).toEqual(["bees", "bienen"]);
    expect(keyword.results[0]!.ranks).toEqual({ keyword: 1 });
  });

  it("filters by metadata in every mode", async () => {
    for (const mode of ["vector", "keyword", "hybrid"] as const) {
      const { results } = await withKg((kg) =>
        kg.search({ query: "honey bees dance", mode, k: 5, filter: { lang: "de" } }),
      );
      expect(results.map((r) => r.documentId)).toEqual(["bienen"]);
    }
  });

  it("hybrid search reaches passages through the graph: a person's name finds what mentions her work", async () => {
    const { results } = await withKg((kg) => kg.search({ query: "Ada Lovelace", k: 5 }));
    const engine = results.find((r) => r.documentId === "engine");
    expect(engine).toBeDefined();
    expect(engine!.ranks.graph).toBe(1);
    expect(results[0]!.documentId).toBe("engine");
  });

  it('group: "document" returns distinct documents, each with its best passages and citations', async () => {
    const hive = [
      "# Hives",
      "## Frames",
      "Bees dance on the frames of the hive.",
      "## Swarms",
      "A swarm of bees dances before it leaves.",
    ]
      .join("\n\n")
      .concat("\n\n", "Filler about the weather and the garden. ".repeat(40));
    const { passages, documents } = await withKg((kg) =>
      Effect.gen(function* () {
        yield* kg.ingest({ documentId: "hive", text: hive, metadata: { lang: "en" } });
        return {
          passages: yield* kg.search({ query: "bees dance", k: 3, mode: "keyword" }),
          documents: yield* kg.search({ query: "bees dance", k: 3, mode: "hybrid", group: "document" }),
        };
      }),
    );
    // passage-level, one document can fill the list; document-level, each document comes once
    const ids = documents.documents!.map((d) => d.documentId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(3);
    expect(passages.results.length).toBe(3);
    const hiveResult = documents.documents!.find((d) => d.documentId === "hive")!;
    expect(hiveResult.passages.length).toBeGreaterThan(1);
    expect(hiveResult.passages[0]!.citation).toMatch(/^hive › Hives > /);
    expect(documents.results.map((r) => r.documentId)).toEqual(ids);
  });

  it("hybrid passage search puts first a passage of the document the whole query describes, not a passage that repeats some of its words", async () => {
    const kite = [
      "# Kites",
      "## Frame",
      "A kite frame is made of light spars of bamboo, tied where they cross.",
      "## Flying",
      "Launch the kite into a steady wind and let the line out slowly.",
    ].join("\n\n");
    const shop = "Bamboo, bamboo, bamboo: the kite shop sells bamboo.";
    const { keyword, hybrid } = await withKg((kg) =>
      Effect.gen(function* () {
        yield* kg.ingestMany({
          documents: [
            { documentId: "kite", text: kite },
            { documentId: "shop", text: shop },
          ],
        });
        const query = "launch a bamboo kite";
        return {
          keyword: yield* kg.search({ query, k: 3, mode: "keyword" }),
          hybrid: yield* kg.search({ query, k: 3 }),
        };
      }),
    );
    // by its own words alone the shop's passage is the best match, and keyword search says so
    expect(keyword.results[0]!.documentId).toBe("shop");
    // but only the kite document has every word of the query, and hybrid search finds it first,
    // with its passages' texts
    expect(hybrid.results[0]!.documentId).toBe("kite");
    expect(hybrid.results[0]!.text).toMatch(/bamboo|Launch/);
    expect(hybrid.results.map((r) => r.documentId)).toContain("shop");
  });

  it("fuses lists by weighted normalised score: a strong retriever's first place is not outvoted by a weak one", () => {
    const list = (...pairs: Array<[string, number]>) =>
      pairs.map(([key, score]) => ({ key, item: key, score }));
    const fused = fuseByScore(
      {
        keyword: list(["a", 12], ["b", 6], ["c", 2]),
        vector: list(["b", 0.9], ["c", 0.8], ["a", 0.5]),
        graph: list(["d", 3]),
      },
      { keyword: 0.7, vector: 0.3, graph: 0.1 },
    );
    // a: 0.7·1 + 0.3·0; b: 0.7·0.4 + 0.3·1; c: 0 + 0.3·0.75; d: 0.1·1 (a one-item list scores 1)
    expect(fused.map((f) => f.key)).toEqual(["a", "b", "c", "d"]);
    expect(fused[0]!.score).toBeCloseTo(0.7, 10);
    expect(fused[1]!.score).toBeCloseTo(0.58, 10);
    expect(fused[1]!.ranks).toEqual({ keyword: 2, vector: 1 });
    expect(fused[3]!.ranks).toEqual({ graph: 1 });
  });

  it("builds a budgeted context with numbered citations", async () => {
    const small = await withKg((kg) => buildContext(kg, { query: "honey bees dance", budgetTokens: 30 }));
    const large = await withKg((kg) => buildContext(kg, { query: "honey bees dance", budgetTokens: 2000 }));
    expect(small.tokens).toBeLessThanOrEqual(30);
    expect(large.citations.length).toBeGreaterThan(small.citations.length);
    expect(large.text).toContain("[1] (");
    expect(large.citations[0]).toMatchObject({ n: 1 });
    expect(large.text).toContain(large.citations[0]!.documentId);
  });
});

describe("generateWithContext", () => {
  it("asks the model through the router and returns its answer with the citations it was given", async () => {
    const scripted = makeScriptedProvider();
    const router = directModelRouter({
      get: (n) => (n === "scripted" ? scripted : undefined),
      names: () => ["scripted"],
    });
    const out = await withKg((kg) =>
      generateWithContext(kg, router, {
        query: "how do honey bees show where flowers are?",
        choice: {
          provider: "scripted",
          options: { script: [{ text: "They dance [1]. You asked: {{input}}" }] },
        },
        context: { tree: "t", address: "/t/root", agentId: "a" },
        budgetTokens: 400,
      }),
    );
    expect(out.text).toBe("They dance [1]. You asked: how do honey bees show where flowers are?");
    expect(out.citations[0]).toMatchObject({ n: 1 });
    expect(["bees", "bienen"]).toContain(out.citations[0]!.documentId);
    expect(out.response.provider).toBe("scripted");
  });
});
