/**
 * The SQL durable store on both adapters (PGlite in process, `pg` over pglite-socket): a batch
 * holding every awkward value a step can produce — quotes, backslashes, `$1`, SQL comments,
 * newlines, emoji, NUL — comes back exactly (NUL as U+FFFD), and a batch is one transaction whose
 * failure names the tree, not the data it was writing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSqlDurableStore } from "../../knowledge/durable-store-sql.ts";
import { SqlClient } from "../../knowledge/sql-client.ts";
import type { DurableStore, StoredTree } from "../../runtime/durable/store.ts";
import { runtimeOf, type SqlAdapter, sqlAdapters } from "./support.ts";

const awkward = [
  "it's",
  "''",
  "\\",
  "\\'; DROP TABLE arbor_durable_agents; --",
  "$1 $2 $$ $tag$",
  "line\nbreak\ttab",
  "naïve 🌳",
  "back\\u0000slash",
];

const stateWith = (text: string) => ({
  format: 1,
  note: text,
  inFlight: { input: awkward.join(" | "), journal: [{ seq: 0, kind: "tool", result: { text, awkward } }] },
});

describe.each(sqlAdapters)("the SQL durable store on $name", ({ make }) => {
  let adapter: SqlAdapter;
  let db: ReturnType<typeof runtimeOf<SqlClient, unknown>>;
  let store: DurableStore;
  const load = async (treeId: string): Promise<StoredTree | undefined> =>
    (await db.run(store.loadTrees())).find((t) => t.treeId === treeId);

  beforeAll(async () => {
    adapter = await make();
    db = runtimeOf(adapter.layer);
    store = await db.run(makeSqlDurableStore);
  });
  afterAll(async () => {
    await db.dispose();
    await adapter.close();
  });

  it("keeps every awkward value of a batch exactly, and NUL as U+FFFD", async () => {
    // The store writes values in as literals where strings are read the standard way: this is that path.
    const sql = await db.run(SqlClient);
    const [setting] = await db.run(
      sql.query<{ standard_conforming_strings: string }>("SHOW standard_conforming_strings"),
    );
    expect(setting?.standard_conforming_strings).toBe("on");
    const treeId = "t'awkward";
    await db.run(store.createTree({ treeId, spec: { name: awkward[3] }, createdAt: 1 }));
    await db.run(
      store.write({
        treeId,
        agents: awkward.map((text, i) => ({ address: `/${treeId}/a${i}'`, state: stateWith(text) })),
        removed: [],
        answers: [{ address: `/${treeId}/a0'`, key: "key '$1' \\", reply: { text: "ok\u0000end" }, at: 7 }],
      }),
    );
    await db.run(
      store.write({
        treeId,
        agents: [{ address: `/${treeId}/a1'`, state: stateWith("nul\u0000inside") }],
        removed: [`/${treeId}/a2'`, `/${treeId}/a3'`],
        answers: [],
      }),
    );
    const tree = await load(treeId);
    expect(tree?.spec).toEqual({ name: awkward[3] });
    const states = new Map(tree?.agents.map((a) => [a.address, a.state]));
    expect(states.size).toBe(awkward.length - 2);
    expect(states.has(`/${treeId}/a2'`)).toBe(false);
    expect(states.get(`/${treeId}/a0'`)).toEqual(stateWith(awkward[0]!));
    expect(states.get(`/${treeId}/a7'`)).toEqual(stateWith(awkward[7]!));
    expect(states.get(`/${treeId}/a1'`)).toEqual(stateWith("nul\ufffdinside"));
    expect(tree?.answers).toEqual([
      { address: `/${treeId}/a0'`, key: "key '$1' \\", reply: { text: "ok\ufffdend" }, at: 7 },
    ]);
  });

  it("writes a batch as one transaction: a failure keeps the earlier state and does not quote the data", async () => {
    const treeId = "atomic";
    const address = `/${treeId}/worker`;
    await db.run(store.createTree({ treeId, spec: {}, createdAt: 2 }));
    await db.run(
      store.write({ treeId, agents: [{ address, state: stateWith("before") }], removed: [], answers: [] }),
    );
    const sql = await db.run(SqlClient);
    // The answers table is gone for this write: the batch's last statement fails.
    await db.run(sql.exec("ALTER TABLE arbor_durable_answers RENAME TO arbor_durable_answers_away"));
    try {
      const failure = await db.fail(
        store.write({
          treeId,
          agents: [{ address, state: stateWith("secret-after") }],
          removed: [],
          answers: [{ address, key: "k", reply: "secret-reply", at: 3 }],
        }),
      );
      expect(failure.reason).toBe("durable_store_failed");
      expect(failure.detail).toMatch(/arbor_durable_answers/);
      expect(failure.detail).not.toMatch(/secret/);
    } finally {
      await db.run(sql.exec("ALTER TABLE arbor_durable_answers_away RENAME TO arbor_durable_answers"));
    }
    const tree = await load(treeId);
    expect(tree?.agents).toEqual([{ address, state: stateWith("before") }]);
    expect(tree?.answers).toEqual([]);
  });
});
