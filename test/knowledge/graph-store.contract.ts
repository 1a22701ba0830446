/**
 * The `GraphStore` contract: every adapter (SQL over PGlite, SQL over `pg`, Neo4j) passes it.
 * Ids are prefixed per run so a shared live database does not leak between runs.
 */
import { Effect, type Layer } from "effect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GraphStore, type GraphStoreService } from "../../knowledge/graph-store.ts";
import { runtimeOf } from "./support.ts";

/** Registers the contract tests in the current `describe`. */
export const graphStoreContract = (
  make: () => Promise<{
    readonly layer: Layer.Layer<GraphStore, unknown>;
    readonly close: () => Promise<void>;
  }>,
) => {
  let rt: ReturnType<typeof runtimeOf<GraphStore, unknown>>;
  let close: () => Promise<void>;
  const p = `t${Date.now().toString(36)}-`;
  const run = <A>(f: (g: GraphStoreService) => Effect.Effect<A, unknown>) =>
    rt.run(Effect.flatMap(GraphStore, f));
  const node = (id: string, type = "person", name = id) => ({
    id: p + id,
    type,
    name,
    properties: { n: id },
  });

  beforeAll(async () => {
    const made = await make();
    close = made.close;
    rt = runtimeOf(made.layer);
    await run((g) =>
      g.upsertNodes(
        [node("ada"), node("bob"), node("cy"), node("dee"), node("acme", "org", "ACME Corp"), node("zed")],
        1,
      ),
    );
  });
  afterAll(async () => {
    await rt.dispose();
    await close();
  });

  it("stores nodes and finds them by id, by name ignoring case, and by property", async () => {
    const got = await run((g) => g.getNodes([`${p}ada`, `${p}acme`, `${p}nobody`]));
    expect(got.map((n) => n.id).sort()).toEqual([`${p}acme`, `${p}ada`]);
    expect(got.find((n) => n.id === `${p}ada`)).toEqual(node("ada"));
    const byName = await run((g) => g.findByName(["acme corp"]));
    expect(byName.map((n) => n.id)).toContain(`${p}acme`);
    const byProp = await run((g) => g.findByProperty("org", "n", "acme"));
    expect(byProp.map((n) => n.id)).toEqual([`${p}acme`]);
  });

  it("closes a single-valued relation when a contradicting one arrives, keeping history", async () => {
    await run((g) =>
      g.relate({
        from: `${p}ada`,
        to: `${p}acme`,
        type: "works_at",
        properties: {},
        time: 100,
        cardinality: "one",
      }),
    );
    const second = await run((g) =>
      g.relate({
        from: `${p}ada`,
        to: `${p}zed`,
        type: "works_at",
        properties: { role: "cto" },
        time: 200,
        cardinality: "one",
      }),
    );
    expect(second.closed).toBe(1);
    const now = await run((g) =>
      g.edgesOf({ ids: [`${p}ada`], direction: "out", types: ["works_at"], asOf: 250 }),
    );
    expect(now.map((e) => e.to)).toEqual([`${p}zed`]);
    const then = await run((g) =>
      g.edgesOf({ ids: [`${p}ada`], direction: "out", types: ["works_at"], asOf: 150 }),
    );
    expect(then.map((e) => e.to)).toEqual([`${p}acme`]);
    const history = await run((g) => g.edgesOf({ ids: [`${p}ada`], direction: "out", types: ["works_at"] }));
    expect(history.map((e) => [e.to, e.validFrom, e.validTo])).toEqual([
      [`${p}acme`, 100, 200],
      [`${p}zed`, 200, null],
    ]);
  });

  it("keeps many-valued relations side by side and reuses an identical one", async () => {
    await run((g) =>
      g.relate({
        from: `${p}bob`,
        to: `${p}cy`,
        type: "knows",
        properties: {},
        time: 10,
        cardinality: "many",
      }),
    );
    await run((g) =>
      g.relate({
        from: `${p}bob`,
        to: `${p}dee`,
        type: "knows",
        properties: {},
        time: 11,
        cardinality: "many",
      }),
    );
    const again = await run((g) =>
      g.relate({
        from: `${p}bob`,
        to: `${p}cy`,
        type: "knows",
        properties: { since: 2020 },
        time: 12,
        cardinality: "many",
      }),
    );
    expect(again.edge.validFrom).toBe(10);
    expect(again.edge.properties).toEqual({ since: 2020 });
    const edges = await run((g) =>
      g.edgesOf({ ids: [`${p}bob`], direction: "out", types: ["knows"], asOf: 20 }),
    );
    expect(edges.map((e) => e.to).sort()).toEqual([`${p}cy`, `${p}dee`]);
    await run((g) => g.updateEdge(again.edge.id, { weight: 2 }));
    const updated = await run((g) => g.edgesOf({ ids: [`${p}cy`], direction: "in", types: ["knows"] }));
    expect(updated[0]!.properties).toEqual({ since: 2020, weight: 2 });
  });

  it("adds one relation per event with cardinality event", async () => {
    for (const task of ["first", "second"]) {
      await run((g) =>
        g.relate({
          from: `${p}ev1`,
          to: `${p}ev2`,
          type: "asked",
          properties: { task },
          time: 5,
          cardinality: "event",
        }),
      );
    }
    const asked = await run((g) => g.edgesOf({ ids: [`${p}ev1`], direction: "out", types: ["asked"] }));
    expect(asked.map((e) => e.properties.task)).toEqual(["first", "second"]);
  });

  it("walks neighbours to depth k in both directions, filtered by relation type and time", async () => {
    // ada -works_at-> zed (t=200); bob -knows-> cy, dee; cy -mentors-> ada
    await run((g) =>
      g.relate({
        from: `${p}cy`,
        to: `${p}ada`,
        type: "mentors",
        properties: {},
        time: 300,
        cardinality: "many",
      }),
    );
    const one = await run((g) => g.neighbors({ id: `${p}cy`, depth: 1, asOf: 400 }));
    expect(one.nodes.map((n) => n.id).sort()).toEqual([`${p}ada`, `${p}bob`, `${p}cy`]);
    const two = await run((g) => g.neighbors({ id: `${p}cy`, depth: 2, asOf: 400 }));
    expect(two.nodes.map((n) => n.id).sort()).toEqual([`${p}ada`, `${p}bob`, `${p}cy`, `${p}dee`, `${p}zed`]);
    expect(two.edges.every((e) => e.validTo === null)).toBe(true);
    const knowsOnly = await run((g) => g.neighbors({ id: `${p}cy`, depth: 2, types: ["knows"], asOf: 400 }));
    expect(knowsOnly.nodes.map((n) => n.id).sort()).toEqual([`${p}bob`, `${p}cy`, `${p}dee`]);
    const before = await run((g) => g.neighbors({ id: `${p}cy`, depth: 2, asOf: 250 }));
    expect(before.nodes.map((n) => n.id)).not.toContain(`${p}ada`);
  });

  it("finds the shortest paths between two nodes", async () => {
    const paths = await run((g) =>
      g.paths({ from: `${p}dee`, to: `${p}zed`, maxDepth: 5, limit: 3, asOf: 400 }),
    );
    expect(paths[0]!.nodes).toEqual([`${p}dee`, `${p}bob`, `${p}cy`, `${p}ada`, `${p}zed`]);
    expect(paths[0]!.edges.map((e) => e.type)).toEqual(["knows", "knows", "mentors", "works_at"]);
    const tooShort = await run((g) =>
      g.paths({ from: `${p}dee`, to: `${p}zed`, maxDepth: 2, limit: 3, asOf: 400 }),
    );
    expect(tooShort).toEqual([]);
  });

  it("returns a whole family of lineage edges from any member", async () => {
    await run((g) =>
      g.upsertNodes(
        [node("root", "agent"), node("kid", "agent"), node("grandkid", "agent"), node("peer", "agent")],
        1,
      ),
    );
    await run((g) =>
      g.relate({
        from: `${p}kid`,
        to: `${p}root`,
        type: "spawned_by",
        properties: {},
        time: 1,
        cardinality: "one",
      }),
    );
    await run((g) =>
      g.relate({
        from: `${p}grandkid`,
        to: `${p}kid`,
        type: "spawned_by",
        properties: {},
        time: 2,
        cardinality: "one",
      }),
    );
    await run((g) =>
      g.relate({
        from: `${p}kid`,
        to: `${p}peer`,
        type: "handed_off_to",
        properties: { task: "t" },
        time: 3,
        cardinality: "many",
      }),
    );
    const family = await run((g) =>
      g.connected({ id: `${p}grandkid`, types: ["spawned_by", "handed_off_to"] }),
    );
    expect(family.map((e) => [e.from, e.type, e.to])).toEqual([
      [`${p}kid`, "spawned_by", `${p}root`],
      [`${p}grandkid`, "spawned_by", `${p}kid`],
      [`${p}kid`, "handed_off_to", `${p}peer`],
    ]);
  });

  it("supersedes a fact with a new value, keeps identical ones, and keeps multi-valued ones", async () => {
    const e = `${p}ada`;
    expect(
      await run((g) =>
        g.setFact({ entity: e, attribute: "city", value: "Paris", time: 10, multi: false, expiresAt: null }),
      ),
    ).toEqual({ superseded: 0, written: true });
    expect(
      await run((g) =>
        g.setFact({ entity: e, attribute: "city", value: "Paris", time: 15, multi: false, expiresAt: null }),
      ),
    ).toEqual({ superseded: 0, written: false });
    expect(
      await run((g) =>
        g.setFact({ entity: e, attribute: "city", value: "Oslo", time: 20, multi: false, expiresAt: null }),
      ),
    ).toEqual({ superseded: 1, written: true });
    await run((g) =>
      g.setFact({ entity: e, attribute: "tag", value: "a", time: 20, multi: true, expiresAt: null }),
    );
    await run((g) =>
      g.setFact({
        entity: e,
        attribute: "tag",
        value: { b: [1, 2] },
        time: 21,
        multi: true,
        expiresAt: null,
      }),
    );
    const current = await run((g) => g.facts({ entity: e, asOf: 30, history: false }));
    expect(current.map((f) => [f.attribute, f.value])).toEqual([
      ["city", "Oslo"],
      ["tag", "a"],
      ["tag", { b: [1, 2] }],
    ]);
    const past = await run((g) => g.facts({ entity: e, attribute: "city", asOf: 12, history: false }));
    expect(past.map((f) => f.value)).toEqual(["Paris"]);
    const history = await run((g) => g.facts({ entity: e, attribute: "city", asOf: 30, history: true }));
    expect(history.map((f) => [f.value, f.validFrom, f.validTo])).toEqual([
      ["Paris", 10, 20],
      ["Oslo", 20, null],
    ]);
  });

  it("hides expired facts and forgets on request", async () => {
    const e = `${p}bob`;
    await run((g) =>
      g.setFact({ entity: e, attribute: "mood", value: "busy", time: 10, multi: false, expiresAt: 50 }),
    );
    await run((g) =>
      g.setFact({ entity: e, attribute: "lang", value: "en", time: 10, multi: false, expiresAt: null }),
    );
    expect(
      (await run((g) => g.facts({ entity: e, asOf: 40, history: false }))).map((f) => f.attribute),
    ).toEqual(["lang", "mood"]);
    expect(
      (await run((g) => g.facts({ entity: e, asOf: 60, history: false }))).map((f) => f.attribute),
    ).toEqual(["lang"]);
    expect(await run((g) => g.forget({ entity: e, attribute: "lang", time: 70 }))).toBe(1);
    expect(await run((g) => g.facts({ entity: e, attribute: "lang", asOf: 80, history: false }))).toEqual([]);
  });

  it("deletes nodes together with their edges", async () => {
    await run((g) => g.upsertNodes([node("tmp", "chunk")], 1));
    await run((g) =>
      g.relate({
        from: `${p}tmp`,
        to: `${p}ada`,
        type: "mentions",
        properties: {},
        time: 1,
        cardinality: "many",
      }),
    );
    await run((g) => g.deleteNodes([`${p}tmp`]));
    expect(await run((g) => g.getNodes([`${p}tmp`]))).toEqual([]);
    expect(await run((g) => g.edgesOf({ ids: [`${p}ada`], direction: "in", types: ["mentions"] }))).toEqual(
      [],
    );
  });

  it("keeps tenants' partitions apart: no read, walk or write crosses one", async () => {
    const id = (x: string) => `${p}part-${x}`;
    const a = (g: GraphStoreService) => g.partition("tenant-a");
    const b = (g: GraphStoreService) => g.partition("tenant-b");
    const same = (x: string, name: string) => ({ id: id(x), type: "person", name, properties: { n: x } });
    // The same ids in both partitions, with different contents.
    await run((g) => a(g).upsertNodes([same("p", "Pat A"), same("q", "Quinn A"), same("r", "Ray A")], 1));
    await run((g) => b(g).upsertNodes([same("p", "Pat B")], 1));
    const rel = (g: GraphStoreService, from: string, to: string, type: string) =>
      g.relate({ from: id(from), to: id(to), type, properties: {}, time: 1, cardinality: "one" });
    await run((g) => rel(a(g), "p", "q", "knows"));
    await run((g) => rel(a(g), "q", "r", "knows"));
    await run((g) => rel(a(g), "r", "p", "spawned_by"));
    await run((g) =>
      a(g).setFact({
        entity: id("p"),
        attribute: "city",
        value: "Oslo",
        time: 1,
        multi: false,
        expiresAt: null,
      }),
    );

    // Reads: B sees only its own node, by id, name and property; the default partition sees none.
    expect((await run((g) => b(g).getNodes([id("p"), id("q")]))).map((n) => n.name)).toEqual(["Pat B"]);
    expect(await run((g) => g.getNodes([id("p"), id("q")]))).toEqual([]);
    expect(await run((g) => b(g).findByName(["quinn a", "pat a"]))).toEqual([]);
    expect(await run((g) => b(g).findByProperty("person", "n", "q"))).toEqual([]);
    expect((await run((g) => a(g).findByName(["pat a"]))).map((n) => n.name)).toEqual(["Pat A"]);
    // Walks: B's node of the same id has no neighbours, paths or lineage family.
    const walkB = await run((g) => b(g).neighbors({ id: id("p"), depth: 3, asOf: 2 }));
    expect(walkB.nodes.map((n) => n.name)).toEqual(["Pat B"]);
    expect(walkB.edges).toEqual([]);
    expect((await run((g) => a(g).neighbors({ id: id("p"), depth: 2, asOf: 2 }))).nodes).toHaveLength(3);
    expect(
      await run((g) => b(g).paths({ from: id("p"), to: id("r"), maxDepth: 3, limit: 5, asOf: 2 })),
    ).toEqual([]);
    expect(await run((g) => b(g).edgesOf({ ids: [id("p"), id("q")], direction: "both" }))).toEqual([]);
    expect(await run((g) => b(g).connected({ id: id("p"), types: ["spawned_by"] }))).toEqual([]);
    expect(await run((g) => b(g).facts({ entity: id("p"), asOf: 2, history: true }))).toEqual([]);
    // Writes: B's fact, relation, forget and delete leave A's untouched.
    const written = await run((g) =>
      b(g).setFact({
        entity: id("p"),
        attribute: "city",
        value: "Rome",
        time: 3,
        multi: false,
        expiresAt: null,
      }),
    );
    expect(written.superseded).toBe(0);
    await run((g) => b(g).upsertNodes([same("x", "Xan B")], 3));
    expect((await run((g) => rel(b(g), "p", "x", "knows"))).closed).toBe(0);
    expect(await run((g) => b(g).forget({ entity: id("p"), time: 4 }))).toBe(1);
    await run((g) => b(g).deleteNodes([id("q"), id("r")]));
    const factsA = await run((g) => a(g).facts({ entity: id("p"), asOf: 5, history: false }));
    expect(factsA.map((f) => f.value)).toEqual(["Oslo"]);
    const edgesA = await run((g) => a(g).edgesOf({ ids: [id("p")], direction: "out", asOf: 5 }));
    expect(edgesA.map((e) => e.to)).toEqual([id("q")]);
    expect(await run((g) => a(g).getNodes([id("q"), id("r")]))).toHaveLength(2);
    const edgeA = edgesA[0]!;
    await run((g) => b(g).updateEdge(edgeA.id, { note: "from B" }));
    const after = await run((g) => a(g).edgesOf({ ids: [id("p")], direction: "out", asOf: 5 }));
    expect(after[0]?.properties).toEqual({});
  });
};
