/**
 * Contract suite of `SqlClient` + `VectorStore`, run against PGlite in process and against `pg`
 * over the Postgres wire (pglite-socket).
 */
import { Effect, Layer } from "effect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_HNSW } from "../../knowledge/hnsw.ts";
import { parseTsvector, tsvectorLiteral } from "../../knowledge/internal/lexemes.ts";
import { migrate, migrations } from "../../knowledge/migrations.ts";
import { SqlClient } from "../../knowledge/sql-client.ts";
import {
  type ChunkRecord,
  COARSE_CANDIDATES,
  layerSqlVectorStore,
  makeSqlVectorStore,
  VectorStore,
  type VectorStoreService,
} from "../../knowledge/vector-store.ts";
import { runtimeOf, type SqlAdapter, sqlAdapters } from "./support.ts";

const D = 8;
const unit = (i: number): number[] =>
  Array.from({ length: D }, (_, k) => (k === i % D ? 1 : 0.05 * ((i + k) % 3)));
const chunk = (
  id: string,
  doc: string,
  text: string,
  axis: number,
  metadata: Record<string, unknown> = {},
): ChunkRecord => ({
  id,
  documentId: doc,
  ord: 0,
  text,
  metadata,
  embedding: unit(axis),
});

describe.each(sqlAdapters)("VectorStore over $name", ({ make }) => {
  let adapter: SqlAdapter;
  let rt: ReturnType<typeof runtimeOf<VectorStore | SqlClient, unknown>>;
  beforeAll(async () => {
    adapter = await make();
    rt = runtimeOf(
      layerSqlVectorStore({ dimension: D, bulkThreshold: 20 }).pipe(Layer.provideMerge(adapter.layer)),
    );
  });
  afterAll(async () => {
    await rt.dispose();
    await adapter.close();
  });

  it("applies each migration once, however often it runs", async () => {
    await rt.run(migrate({ dimension: D }));
    await rt.run(migrate({ dimension: D }));
    const versions = await rt.run(
      Effect.flatMap(SqlClient, (sql) =>
        sql.query<{ version: number }>("SELECT version FROM arbor_schema_migrations ORDER BY version"),
      ),
    );
    expect(versions.map((v) => v.version)).toEqual(migrations.map((m) => m.version));
  });

  it("refuses to open a database made for another embedding dimension", async () => {
    const error = await rt.fail(makeSqlVectorStore({ dimension: D * 2 }));
    expect(error).toMatchObject({
      _tag: "KnowledgeConfigError",
      reason: "dimension_mismatch",
      fault: "config",
    });
  });

  it("builds the index with the configured HNSW settings and rebuilds it when they change", async () => {
    const indexOptions = () =>
      rt.run(
        Effect.flatMap(SqlClient, (sql) =>
          sql.query<{ options: ReadonlyArray<string> }>(
            "SELECT reloptions AS options FROM pg_class WHERE oid = to_regclass('arbor_chunks_embedding')",
          ),
        ),
      );
    const defaults = [`m=${DEFAULT_HNSW.m}`, `ef_construction=${DEFAULT_HNSW.efConstruction}`].sort();
    expect((await indexOptions())[0]?.options.toSorted()).toEqual(defaults);
    const other = await rt.run(
      Effect.flatMap(makeSqlVectorStore({ dimension: D, m: 4, efConstruction: 20 }), (store) =>
        Effect.as(store.upsert([chunk("hnsw-1", "doc-hnsw", "settings probe", 4)]), store),
      ),
    );
    expect((await indexOptions())[0]?.options.toSorted()).toEqual(["ef_construction=20", "m=4"]);
    const found = await rt.run(other.searchVector({ vector: unit(4), k: 1 }));
    expect(found.map((h) => h.chunkId)).toEqual(["hnsw-1"]);
    // back to the defaults, as the rest of the suite expects: rebuilt again, data intact
    const back = await rt.run(makeSqlVectorStore({ dimension: D }));
    expect((await indexOptions())[0]?.options.toSorted()).toEqual(defaults);
    expect((await rt.run(back.searchVector({ vector: unit(4), k: 1 }))).map((h) => h.chunkId)).toEqual([
      "hnsw-1",
    ]);
    const bad = await rt.fail(makeSqlVectorStore({ dimension: D, m: 1 }));
    expect(bad).toMatchObject({ _tag: "KnowledgeConfigError", reason: "invalid_config", fault: "config" });
    expect(bad.message).toContain("hnsw.m is 1");
  });

  it("reads back any lexeme and its positions from the text form Postgres prints", async () => {
    // BM25 and the proximity bonus read the query's lexemes of each row from `tsvector` text.
    const printed = (vector: ReadonlyMap<string, ReadonlyArray<number>>) =>
      rt.run(
        Effect.flatMap(SqlClient, (sql) =>
          sql.query<{ text: string }>("SELECT setweight($1::tsvector, 'A')::text AS text", [
            tsvectorLiteral(vector),
          ]),
        ),
      );
    const vector = new Map<string, ReadonlyArray<number>>([
      ["it's", [1, 7]],
      ["back\\slash", [2]],
      ["''", [3, 4, 5]],
      ["naïve", [6]],
      ["日本語", [16383]],
      ["two words", [9]],
    ]);
    expect(new Map(parseTsvector((await printed(vector))[0]!.text))).toEqual(vector);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.tuple(
            fc.string({ minLength: 1, maxLength: 12, unit: "grapheme" }).filter((w) => !w.includes("\0")),
            fc.uniqueArray(fc.integer({ min: 1, max: 16383 }), { minLength: 1, maxLength: 5 }),
          ),
          { minLength: 1, maxLength: 8, selector: ([lexeme]) => lexeme },
        ),
        async (entries) => {
          const expected = new Map(entries.map(([l, p]) => [l, [...p].sort((a, b) => a - b)]));
          expect(new Map(parseTsvector((await printed(expected))[0]!.text))).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
    expect(parseTsvector("'bare' 'with':3")).toEqual([
      ["bare", []],
      ["with", [3]],
    ]);
  });

  it("rolls a failed transaction back", async () => {
    const attempt = Effect.flatMap(SqlClient, (sql) =>
      sql.transaction(
        Effect.gen(function* () {
          yield* sql.query("INSERT INTO arbor_meta (key, value) VALUES ('rollback-probe', '1'::jsonb)");
          return yield* Effect.fail("boom" as const);
        }),
      ),
    );
    expect(await rt.fail(attempt)).toBe("boom");
    const rows = await rt.run(
      Effect.flatMap(SqlClient, (sql) =>
        sql.query("SELECT key FROM arbor_meta WHERE key = 'rollback-probe'"),
      ),
    );
    expect(rows).toEqual([]);
  });

  it("finds the nearest chunks first and honours metadata filters", async () => {
    await rt.run(
      Effect.flatMap(VectorStore, (store) =>
        store.upsert([
          chunk("a1", "doc-a", "Alpha chunk about cats", 1, { lang: "en" }),
          chunk("a2", "doc-a", "Alpha chunk about dogs", 2, { lang: "en" }),
          chunk("b1", "doc-b", "Beta Katzen", 1, { lang: "de" }),
        ]),
      ),
    );
    const hits = await rt.run(Effect.flatMap(VectorStore, (s) => s.searchVector({ vector: unit(1), k: 3 })));
    expect(
      hits
        .map((h) => h.chunkId)
        .slice(0, 2)
        .sort(),
    ).toEqual(["a1", "b1"]);
    expect(hits[0]!.score).toBeCloseTo(1, 5);
    const german = await rt.run(
      Effect.flatMap(VectorStore, (s) => s.searchVector({ vector: unit(1), k: 3, filter: { lang: "de" } })),
    );
    expect(german.map((h) => h.chunkId)).toEqual(["b1"]);
    // Bare hits: the same chunks and scores, without their text.
    const bare = await rt.run(
      Effect.flatMap(VectorStore, (s) => s.searchVector({ vector: unit(1), k: 3, bare: true })),
    );
    expect(bare.map((h) => [h.chunkId, h.documentId, h.score])).toEqual(
      hits.map((h) => [h.chunkId, h.documentId, h.score]),
    );
    expect(bare.every((h) => h.text === "")).toBe(true);
    // A coarser walk (hybrid search's) finds them too. Each walk is set for its own search only:
    // PGlite's one session stays tuned for the coarse one, whichever ran last.
    const walkAfter = (coarse: boolean) =>
      rt.run(
        Effect.gen(function* () {
          const found = yield* Effect.flatMap(VectorStore, (s) =>
            s.searchVector({ vector: unit(1), k: 3, coarse }),
          );
          const sql = yield* SqlClient;
          const [row] = yield* sql.query<{ ef: string }>("SELECT current_setting('hnsw.ef_search') AS ef");
          return { found: found.map((h) => h.chunkId), dialect: sql.dialect, ef: Number(row!.ef) };
        }),
      );
    for (const coarse of [true, false, true]) {
      const after = await walkAfter(coarse);
      expect(after.found).toEqual(hits.map((h) => h.chunkId));
      if (after.dialect === "pglite") expect(after.ef).toBe(COARSE_CANDIDATES);
    }
  });

  it("matches keywords with English stemming, any word, best first", async () => {
    await rt.run(
      Effect.flatMap(VectorStore, (store) =>
        store.upsert([
          chunk("k1", "doc-k", "The runner was running quickly past the river", 3),
          chunk("k2", "doc-k", "A quiet river bank", 4),
        ]),
      ),
    );
    const hits = await rt.run(
      Effect.flatMap(VectorStore, (s) => s.searchKeyword({ text: "runs by the river!", k: 5 })),
    );
    expect(hits.map((h) => h.chunkId)).toEqual(["k1", "k2"]);
    const filtered = await rt.run(
      Effect.flatMap(VectorStore, (s) => s.searchKeyword({ text: "cats", k: 5, filter: { lang: "de" } })),
    );
    expect(filtered).toEqual([]);
  });

  it("ranks keywords by BM25: a rare word outweighs repeated common ones, a short passage beats a long one", async () => {
    const own = <T>(f: (s: VectorStoreService) => Effect.Effect<T, unknown>) =>
      rt.run(Effect.flatMap(VectorStore, (s) => f(s.partition("bm25"))));
    const filler = "and then some more words about other things that fill a long page of text ".repeat(6);
    await own((s) =>
      s.upsert([
        chunk("b-common", "doc-common", "system data system data system data system data", 1),
        chunk("b-rare", "doc-rare", "A kestrel hovered over the nest.", 2),
        chunk("a-long", "doc-long", `${filler} a nest ${filler} of a kestrel ${filler}`, 3),
        chunk("b-loose", "doc-loose", "It hovered high, and then a kestrel left quickly.", 4),
        ...Array.from({ length: 8 }, (_, i) =>
          chunk(`b-fill${i}`, "doc-fill", `the system stores data ${i}`, 5),
        ),
      ]),
    );
    const ids = (text: string) =>
      own((s) => s.searchKeyword({ text, k: 3 })).then((h) => h.map((x) => x.chunkId));
    expect((await ids("kestrel system data"))[0]).toBe("b-rare");
    expect((await ids("kestrel nest"))[0]).toBe("b-rare");
    // "a phrase" must appear as such; pre* matches words starting so
    expect(await ids('"kestrel hovered"')).toEqual(["b-rare"]);
    expect((await ids("kestr*")).sort()).toEqual(["a-long", "b-loose", "b-rare"]);
  });

  it("returns exactly BM25's top k when common words cannot lift a passage past the rare word's", async () => {
    const own = <T>(f: (s: VectorStoreService) => Effect.Effect<T, unknown>) =>
      rt.run(Effect.flatMap(VectorStore, (s) => f(s.partition("pruning"))));
    // 600 passages of made-up words: w0 is in nearly every one, w1 in many, w9 in a few, "solo"
    // in two; each word repeated a varying number of times, so scores rarely tie.
    let seed = 7;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    const texts = Array.from({ length: 600 }, (_, i) =>
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        .flatMap((w) => (random() < 1 / (1 + w) ? Array(1 + Math.floor(random() * 4)).fill(`w${w}x`) : []))
        .concat(i % 300 === 7 ? ["solo", "zz"] : ["zz"])
        .join(" "),
    );
    await own((s) => s.upsert(texts.map((t, i) => chunk(`p${String(i).padStart(3, "0")}`, `d${i}`, t, i))));
    // BM25 (k1 1.2, b 0.75) computed here from the texts themselves.
    const bags = texts.map((t) => {
      const bag = new Map<string, number>();
      for (const w of t.split(" ")) bag.set(w, (bag.get(w) ?? 0) + 1);
      return bag;
    });
    const mean = bags.reduce((n, b) => n + b.size, 0) / bags.length;
    const expected = (query: ReadonlyArray<string>, k: number) => {
      const idf = (w: string) => {
        const df = bags.filter((b) => b.has(w)).length;
        return Math.log(1 + (bags.length - df + 0.5) / (df + 0.5));
      };
      return bags
        .map((bag, i) => ({
          id: `p${String(i).padStart(3, "0")}`,
          score: query.reduce((sum, w) => {
            const tf = bag.get(w) ?? 0;
            return sum + (idf(w) * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * bag.size) / mean));
          }, 0),
        }))
        .filter((h) => h.score > 0)
        .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
        .slice(0, k)
        .map((h) => h.id);
    };
    for (const [query, k] of [
      [["w9x", "w0x"], 3],
      [["w9x", "w1x", "w0x"], 10],
      [["w8x", "w2x"], 5],
      [["w5x", "w1x", "w0x"], 40],
      [["w0x", "w1x"], 4],
      [["solo", "w2x", "w0x"], 10],
      [["solo", "w0x"], 10],
    ] as const) {
      const found = await own((s) => s.searchKeyword({ text: query.join(" "), k }));
      expect(
        found.map((h) => h.chunkId),
        query.join(" "),
      ).toEqual(expected(query, k));
    }
  });

  it("ranks whole documents by BM25 and keeps each document's passages apart", async () => {
    const own = <T>(f: (s: VectorStoreService) => Effect.Effect<T, unknown>) =>
      rt.run(Effect.flatMap(VectorStore, (s) => f(s.partition("documents"))));
    const doc = (id: string, texts: ReadonlyArray<string>) => ({
      document: { id, hash: id, metadata: { kind: "note" }, chunks: texts.length, text: texts.join("\n\n") },
      chunks: texts.map((t, i) => ({ ...chunk(`${id}#${i}`, id, t, i), ord: i })),
    });
    await own((s) =>
      s.replaceDocuments([
        // The words of the query are spread over two passages: only the document holds them all.
        doc("falcons", ["Peregrine falcons dive.", "They nest on cliffs and towers."]),
        doc("towers", ["Radio towers and cliffs.", "Steel lattice."]),
      ]),
    );
    const found = await own((s) => s.searchKeywordDocuments({ text: "peregrine nest towers", k: 5 }));
    expect(found.map((d) => d.documentId)).toEqual(["falcons", "towers"]);
    expect(found[0]!.metadata).toEqual({ kind: "note" });
    const passages = await own((s) =>
      s.searchKeyword({ text: "peregrine nest towers", k: 10, documents: ["falcons"], perDocument: 1 }),
    );
    expect(passages.map((p) => p.documentId)).toEqual(["falcons"]);
  });

  it("finds a book-length document by a word on its last page; a text of more distinct tokens than a tsvector holds still loads", async () => {
    const own = <T>(f: (s: VectorStoreService) => Effect.Effect<T, unknown>) =>
      rt.run(Effect.flatMap(VectorStore, (s) => f(s.partition("books"))));
    const doc = (id: string, text: string, passages: ReadonlyArray<string>) => ({
      document: { id, hash: id, metadata: {}, chunks: passages.length, text },
      chunks: passages.map((t, i) => ({ ...chunk(`${id}#${i}`, id, t, i), ord: i })),
    });
    // ~450,000 characters of prose (more than was indexed before), the one odd word at its end
    const page = "The river ran slowly past the mill while the miller counted his sacks of grain. ";
    const ending = "At last the travellers reached Quillimane harbour.";
    const book = `${page.repeat(5_600)}${ending}`;
    // 1.25 million characters of distinct 250-letter tokens: more than one tsvector holds
    const tokens = Array.from({ length: 5_000 }, (_, i) => `tok${i.toString(36)}`.padEnd(250, "x")).join(" ");
    await own((s) =>
      s.replaceDocuments([
        doc("book", book, [page, ending]),
        doc("dump", `Sensor export. ${tokens}`, ["Sensor export."]),
      ]),
    );
    const found = await own((s) => s.searchKeywordDocuments({ text: "Quillimane harbour", k: 5 }));
    expect(found.map((d) => d.documentId)).toEqual(["book"]);
    const early = await own((s) => s.searchKeywordDocuments({ text: "sensor export", k: 5 }));
    expect(early.map((d) => d.documentId)).toEqual(["dump"]);
  });

  it("ranks documents by how early they say the query's words: opening, then second page, then later", async () => {
    const own = <T>(f: (s: VectorStoreService) => Effect.Effect<T, unknown>) =>
      rt.run(Effect.flatMap(VectorStore, (s) => f(s.partition("lead"))));
    const filler = (n: number) => Array.from({ length: n }, (_, i) => `filler${i % 50}`).join(" ");
    const doc = (id: string, text: string) => ({
      document: { id, hash: id, metadata: {}, chunks: 1, text },
      chunks: [{ ...chunk(`${id}#0`, id, text, 0), ord: 0 }],
    });
    // The same words, as often, in documents of the same length: only where they stand differs
    // (ties would go to the smaller id, the reverse of the expected order).
    await own((s) =>
      s.replaceDocuments([
        doc("a-later", `${filler(450)} compress archives quickly`),
        doc("b-second", `${filler(150)} compress archives quickly ${filler(300)}`),
        doc("c-opening", `compress archives quickly ${filler(450)}`),
      ]),
    );
    const found = await own((s) => s.searchKeywordDocuments({ text: "compress archives", k: 5 }));
    expect(found.map((d) => d.documentId)).toEqual(["c-opening", "b-second", "a-later"]);
    expect(found[0]!.score).toBeGreaterThan(found[1]!.score);
    expect(found[1]!.score).toBeGreaterThan(found[2]!.score);
  });

  it("ranks a document that says the query's words together above one that scatters them", async () => {
    const own = <T>(f: (s: VectorStoreService) => Effect.Effect<T, unknown>) =>
      rt.run(Effect.flatMap(VectorStore, (s) => f(s.partition("proximity"))));
    const opening = Array.from({ length: 150 }, (_, i) => `filler${i % 50}`).join(" ");
    const between = Array.from({ length: 30 }, (_, i) => `pad${i}`).join(" ");
    const doc = (id: string, text: string) => ({
      document: { id, hash: id, metadata: {}, chunks: 1, text },
      chunks: [{ ...chunk(`${id}#0`, id, text, 0), ord: 0 }],
    });
    // The same words, as often, past both openings: only whether they stand together differs
    // (BM25 alone ties them, and a tie goes to the smaller id, "a-scattered").
    await own((s) =>
      s.replaceDocuments([
        doc("a-scattered", `${opening} compress ${between} archives quickly`),
        doc("b-together", `${opening} compress archives quickly ${between}`),
      ]),
    );
    const found = await own((s) => s.searchKeywordDocuments({ text: "compress archives", k: 5 }));
    expect(found.map((d) => d.documentId)).toEqual(["b-together", "a-scattered"]);
    expect(found[0]!.score).toBeGreaterThan(found[1]!.score);
  });

  it("ranks documents stored before their term weights were kept exactly as new ones, once migrated", async () => {
    const own = <T>(f: (s: VectorStoreService) => Effect.Effect<T, unknown>) =>
      rt.run(Effect.flatMap(VectorStore, (s) => f(s.partition("weights"))));
    const filler = Array.from({ length: 120 }, (_, i) => `filler${i % 40}`).join(" ");
    const doc = (id: string, text: string) => ({
      document: { id, hash: id, metadata: {}, chunks: 1, text },
      chunks: [{ ...chunk(`${id}#0`, id, text, 0), ord: 0 }],
    });
    await own((s) =>
      s.replaceDocuments([
        doc("lead", `tar archives files ${filler} archives`),
        doc("late", `${filler} tar archives archives archives`),
        doc("quote", `O'Brien's back\\slash archives ${filler}`),
      ]),
    );
    const search = () => own((s) => s.searchKeywordDocuments({ text: "tar archives o'brien slash", k: 5 }));
    const before = await search();
    const weights = () =>
      rt.run(
        Effect.flatMap(SqlClient, (sql) =>
          sql.query<{ id: string; w: string }>(
            "SELECT id, weights::text AS w FROM arbor_documents WHERE tenant = 'weights' ORDER BY id",
          ),
        ),
      );
    const written = await weights();
    // As a store made before the column existed: the migration computes it from the tsvectors.
    const step = migrations.find((m) => m.name === "document term weights")!;
    await rt.run(
      Effect.flatMap(SqlClient, (sql) =>
        sql.exec(
          `ALTER TABLE arbor_documents DROP COLUMN weights; ${step.sql({ dimension: D })}`.replaceAll(
            "WHERE tsv IS NOT NULL",
            "WHERE tsv IS NOT NULL AND tenant = 'weights'",
          ),
        ),
      ),
    );
    expect(await weights()).toEqual(written);
    expect(await search()).toEqual(before);
    expect(before.map((d) => d.documentId)).toEqual(["quote", "lead", "late"]);
  });

  it("keeps BM25's document frequencies exact through upserts, replacements and deletions", async () => {
    const own = <T>(f: (s: VectorStoreService) => Effect.Effect<T, unknown>) =>
      rt.run(Effect.flatMap(VectorStore, (s) => f(s.partition("terms"))));
    const doc = (id: string, texts: ReadonlyArray<string>) => ({
      document: { id, hash: id, metadata: {}, chunks: texts.length, text: texts.join("\n\n") },
      chunks: texts.map((t, i) => ({ ...chunk(`${id}#${i}`, id, t, i), ord: i })),
    });
    await own((s) =>
      s.replaceDocuments([
        doc("t1", ["Otters float on rivers.", "Otters hold hands."]),
        doc("t2", ["Rivers run to the sea."]),
      ]),
    );
    await own((s) => s.replaceDocuments([doc("t1", ["Beavers build dams on rivers."])]));
    await own((s) => s.upsert([chunk("t2#0", "t2", "The sea is salty.", 1)]));
    await own((s) => s.deleteDocument("t2"));
    await own((s) => s.replaceDocuments([doc("t3", ["Otters again, in the sea."])]));
    const kept = await rt.run(
      Effect.flatMap(SqlClient, (sql) =>
        sql.query<{ scope: string; lexeme: string; df: number }>(
          "SELECT scope, lexeme, df FROM arbor_terms WHERE tenant = 'terms' AND df > 0 ORDER BY scope, lexeme",
        ),
      ),
    );
    const counted = await rt.run(
      Effect.flatMap(SqlClient, (sql) =>
        sql.query<{ scope: string; lexeme: string; df: number }>(
          `SELECT scope, lexeme, count(*)::int AS df FROM (
             SELECT 'chunks' AS scope, tsv FROM arbor_chunks WHERE tenant = 'terms'
             UNION ALL SELECT 'documents', tsv FROM arbor_documents WHERE tenant = 'terms') r,
           unnest(tsvector_to_array(r.tsv)) AS lexeme GROUP BY scope, lexeme ORDER BY scope, lexeme`,
        ),
      ),
    );
    expect(kept).toEqual(counted);
    expect(kept).toContainEqual({ scope: "documents", lexeme: "otter", df: 1 });
    expect(kept.find((t) => t.lexeme === "salti")).toBeUndefined();
    // what a search sees: only t3 still speaks of otters or the sea
    const found = await own((s) => s.searchKeywordDocuments({ text: "otters sea", k: 5 }));
    expect(found.map((d) => d.documentId)).toEqual(["t3"]);
  });

  it("never mixes vectors of two embedders: a store holding vectors refuses another model by name", async () => {
    await rt.run(Effect.flatMap(VectorStore, (s) => s.upsert([chunk("m1", "doc-m", "made by model a", 1)])));
    await rt.run(Effect.flatMap(VectorStore, (s) => s.claimEmbedder("model-a")));
    await rt.run(Effect.flatMap(VectorStore, (s) => s.claimEmbedder("model-a")));
    const refused = await rt.fail(Effect.flatMap(VectorStore, (s) => s.claimEmbedder("model-b")));
    expect(refused).toMatchObject({ _tag: "KnowledgeConfigError", reason: "embedder_mismatch" });
    expect(String(refused)).toContain("model-a");
  });

  it("updates a chunk upserted again, the last of a repeated id winning", async () => {
    await rt.run(
      Effect.flatMap(VectorStore, (s) =>
        s.upsert([
          chunk("u1", "doc-u", "first", 7),
          chunk("u1", "doc-u", "second", 7),
          chunk("u2", "doc-u", "other", 7),
        ]),
      ),
    );
    await rt.run(Effect.flatMap(VectorStore, (s) => s.upsert([chunk("u2", "doc-u", "other, updated", 7)])));
    const got = await rt.run(Effect.flatMap(VectorStore, (s) => s.getChunks(["u1", "u2"])));
    expect(got.map((c) => [c.chunkId, c.text]).sort()).toEqual([
      ["u1", "second"],
      ["u2", "other, updated"],
    ]);
  });

  it("rejects vectors of the wrong dimension and empty queries with typed errors", async () => {
    const wrong = await rt.fail(
      Effect.flatMap(VectorStore, (s) => s.searchVector({ vector: [1, 2, 3], k: 1 })),
    );
    expect(wrong).toMatchObject({ _tag: "KnowledgeInputError", reason: "bad_dimension", fault: "user" });
    const badChunk = await rt.fail(
      Effect.flatMap(VectorStore, (s) => s.upsert([{ ...chunk("x", "d", "t", 0), embedding: [1] }])),
    );
    expect(badChunk).toMatchObject({ reason: "bad_dimension" });
    const empty = await rt.fail(Effect.flatMap(VectorStore, (s) => s.searchKeyword({ text: " ?! ", k: 1 })));
    expect(empty).toMatchObject({ _tag: "KnowledgeInputError", reason: "empty_query" });
  });

  it("replaces a document's chunks atomically and deletes documents", async () => {
    const doc = { id: "doc-r", hash: "h1", metadata: { source: "test" }, chunks: 2 };
    await rt.run(
      Effect.flatMap(VectorStore, (s) =>
        s.replaceDocument(doc, [chunk("r1", "doc-r", "old one", 5), chunk("r2", "doc-r", "old two", 6)]),
      ),
    );
    await rt.run(
      Effect.flatMap(VectorStore, (s) =>
        s.replaceDocument({ ...doc, hash: "h2", chunks: 1 }, [chunk("r3", "doc-r", "new text", 5)]),
      ),
    );
    expect(await rt.run(Effect.flatMap(VectorStore, (s) => s.getDocument("doc-r")))).toMatchObject({
      hash: "h2",
      chunks: 1,
      metadata: { source: "test" },
    });
    const chunks = await rt.run(Effect.flatMap(VectorStore, (s) => s.getChunks(["r1", "r2", "r3"])));
    expect(chunks.map((c) => c.chunkId)).toEqual(["r3"]);
    expect(await rt.run(Effect.flatMap(VectorStore, (s) => s.deleteDocument("doc-r")))).toBe(true);
    expect(await rt.run(Effect.flatMap(VectorStore, (s) => s.getChunks(["r3"])))).toEqual([]);
  });

  it("bulk loads without the index, which the next search builds, and still agrees with exact search", async () => {
    const many = Array.from({ length: 60 }, (_, i) => ({
      ...chunk(`bulk-${i}`, "doc-bulk", `bulk chunk ${i}`, i),
      embedding: unit(i).map((x, k) => x + ((i * 7 + k * 3) % 11) / 50),
    }));
    const indexed = () =>
      rt.run(
        Effect.flatMap(SqlClient, (sql) =>
          sql.query<{ present: boolean }>(
            "SELECT to_regclass('arbor_chunks_embedding') IS NOT NULL AS present",
          ),
        ),
      );
    await rt.run(Effect.flatMap(VectorStore, (s) => s.upsert(many)));
    expect((await indexed())[0]?.present).toBe(false);
    expect(await rt.run(Effect.flatMap(VectorStore, (s) => s.count()))).toBeGreaterThanOrEqual(60);
    const query = unit(3).map((x, k) => x + k / 40);
    const approx = await rt.run(Effect.flatMap(VectorStore, (s) => s.searchVector({ vector: query, k: 5 })));
    expect((await indexed())[0]?.present).toBe(true);
    const exact = await rt.run(Effect.flatMap(VectorStore, (s) => s.searchExact({ vector: query, k: 5 })));
    expect(approx.map((h) => h.chunkId)).toEqual(exact.map((h) => h.chunkId));
  });

  it("keeps tenants' documents and chunks apart: no read, search or write crosses a partition", async () => {
    const a = (s: VectorStoreService) => s.partition("tenant-a");
    const b = (s: VectorStoreService) => s.partition("tenant-b");
    const doc = { id: "doc-part", hash: "ha", metadata: {}, chunks: 2 };
    const onA = [
      chunk("part-1", "doc-part", "the secret launch codes of A", 2),
      chunk("part-2", "doc-part", "A's plans", 3),
    ];
    await rt.run(Effect.flatMap(VectorStore, (s) => a(s).replaceDocument(doc, onA)));
    const asB = <T>(f: (s: VectorStoreService) => Effect.Effect<T, unknown>) =>
      rt.run(Effect.flatMap(VectorStore, (s) => f(b(s))));
    const asA = <T>(f: (s: VectorStoreService) => Effect.Effect<T, unknown>) =>
      rt.run(Effect.flatMap(VectorStore, (s) => f(a(s))));
    expect(await asB((s) => s.getDocument("doc-part"))).toBeUndefined();
    expect(await asB((s) => s.getChunks(["part-1", "part-2"]))).toEqual([]);
    expect(await asB((s) => s.searchVector({ vector: unit(2), k: 5 }))).toEqual([]);
    expect(await asB((s) => s.searchExact({ vector: unit(2), k: 5 }))).toEqual([]);
    expect(await asB((s) => s.searchKeyword({ text: "secret launch codes", k: 5 }))).toEqual([]);
    expect(await asB((s) => s.count())).toBe(0);
    const inDefault = await rt.run(
      Effect.flatMap(VectorStore, (s) => s.searchKeyword({ text: "secret launch codes", k: 5 })),
    );
    expect(inDefault).toEqual([]);
    // B writes a document and chunks of the same ids, then deletes its document: A's stay whole.
    await asB((s) =>
      s.replaceDocument({ ...doc, hash: "hb", chunks: 1 }, [chunk("part-1", "doc-part", "B's own words", 2)]),
    );
    expect((await asB((s) => s.getChunks(["part-1"]))).map((c) => c.text)).toEqual(["B's own words"]);
    expect(await asB((s) => s.deleteDocument("doc-part"))).toBe(true);
    expect(await asA((s) => s.getDocument("doc-part"))).toMatchObject({ hash: "ha", chunks: 2 });
    const hits = await asA((s) => s.searchVector({ vector: unit(2), k: 1 }));
    expect(hits.map((h) => h.text)).toEqual(["the secret launch codes of A"]);
    expect(await asA((s) => s.count())).toBe(2);
  });
});
