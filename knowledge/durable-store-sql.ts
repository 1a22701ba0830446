/**
 * The durable-tree store (runtime/durable/store.ts) on Postgres or the embedded PGlite: kept trees,
 * their agents' state (with the journal of the task in flight) and replies by idempotency key
 * (migration 8). A step boundary's batch is one message to the database — an upsert of every agent
 * that changed in one multi-row INSERT, with the deletions and kept answers — so a batch costs one
 * round trip however many agents it touches, and commits as one transaction.
 */
import { Effect } from "effect";
import {
  type DurableBatch,
  type DurableStore,
  DurableStoreFailed,
  type StoredAnswer,
  type StoredTree,
} from "../runtime/durable/store.ts";
import { migrate } from "./migrations.ts";
import { type Row, SqlClient, withLiterals } from "./sql-client.ts";

const failed = (error: { readonly message: string }) =>
  new DurableStoreFailed({ reason: "durable_store_failed", detail: error.message });

/**
 * JSON text for a jsonb column. jsonb cannot hold NUL (`\u0000`), which a tool's or model's text
 * may carry: it is kept as U+FFFD, so the write goes through instead of failing at every step.
 */
const json = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text.includes("\\u0000") ? text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, "$1\\ufffd") : text;
};

/** JSON from either driver: PGlite and `pg` both parse jsonb, but be lenient with text. */
const parsed = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value);

interface TreeRow extends Row {
  readonly tree_id: string;
  readonly tenant: string | null;
  readonly spec: unknown;
  readonly created_at: number;
  readonly resumed_at: number | null;
}

/** The SQL durable store (runs the migrations it needs). */
export const makeSqlDurableStore = Effect.gen(function* () {
  const sql = yield* SqlClient;
  yield* Effect.mapError(migrate({}), failed);

  /** The statements of a batch: an upsert of the changed agents, deletions, kept answers. */
  const statements = (batch: DurableBatch) => {
    const out: Array<readonly [string, ReadonlyArray<unknown>]> = [];
    const { treeId } = batch;
    if (batch.agents.length > 0) {
      const rows = batch.agents.map((_, i) => `($1, $${2 * i + 2}, $${2 * i + 3}::jsonb)`).join(", ");
      out.push([
        `INSERT INTO arbor_durable_agents (tree_id, address, state) VALUES ${rows}
         ON CONFLICT (tree_id, address) DO UPDATE SET state = excluded.state`,
        [treeId, ...batch.agents.flatMap((a) => [a.address, json(a.state)])],
      ]);
    }
    if (batch.removed.length > 0)
      out.push([
        "DELETE FROM arbor_durable_agents WHERE tree_id = $1 AND address = ANY($2::text[])",
        [treeId, batch.removed],
      ]);
    if (batch.answers.length > 0) {
      const rows = batch.answers
        .map((_, i) => `($1, $${4 * i + 2}, $${4 * i + 3}, $${4 * i + 4}::jsonb, $${4 * i + 5})`)
        .join(", ");
      out.push([
        `INSERT INTO arbor_durable_answers (tree_id, address, key, reply, at) VALUES ${rows} ON CONFLICT DO NOTHING`,
        [treeId, ...batch.answers.flatMap((a) => [a.address, a.key, json(a.reply), a.at])],
      ]);
    }
    return out;
  };

  // Literals are exact only where the server reads strings the standard way (the default).
  const [conforming] = yield* Effect.mapError(
    sql.query<{ standard_conforming_strings: string }>("SHOW standard_conforming_strings"),
    failed,
  );
  const literals = conforming?.standard_conforming_strings === "on";

  // A step boundary waits on this write: it goes as one simple-protocol message — one round trip,
  // and its statements one implicit transaction — with the values written in as literals. A value
  // that cannot be (text holding NUL) sends the batch as parameterized statements in a transaction.
  const write: DurableStore["write"] = (batch) => {
    const parts = statements(batch);
    if (parts.length === 0) return Effect.void;
    const inlined = literals ? parts.map(([text, params]) => withLiterals(text, params)) : [];
    const run =
      literals && inlined.every((text) => text !== undefined)
        ? sql.exec(inlined.join(";\n"), `durable batch of tree ${batch.treeId}`)
        : parts.length === 1
          ? sql.query(parts[0]![0], parts[0]![1])
          : sql.transaction(
              Effect.all(
                parts.map(([text, params]) => sql.query(text, params)),
                { discard: true },
              ),
            );
    return run.pipe(Effect.asVoid, Effect.mapError(failed));
  };

  const loadTrees: DurableStore["loadTrees"] = () =>
    Effect.gen(function* () {
      const trees = yield* sql.query<TreeRow>(
        "SELECT * FROM arbor_durable_trees ORDER BY created_at, tree_id",
      );
      const agents = yield* sql.query<{ tree_id: string; address: string; state: unknown }>(
        "SELECT tree_id, address, state FROM arbor_durable_agents ORDER BY tree_id, address",
      );
      const answers = yield* sql.query<{
        tree_id: string;
        address: string;
        key: string;
        reply: unknown;
        at: number;
      }>("SELECT * FROM arbor_durable_answers ORDER BY tree_id, at");
      return trees.map(
        (t): StoredTree => ({
          treeId: t.tree_id,
          ...(t.tenant !== null ? { tenant: t.tenant } : {}),
          spec: parsed(t.spec),
          createdAt: Number(t.created_at),
          ...(t.resumed_at !== null ? { resumedAt: Number(t.resumed_at) } : {}),
          agents: agents
            .filter((a) => a.tree_id === t.tree_id)
            .map((a) => ({ address: a.address, state: parsed(a.state) })),
          answers: answers
            .filter((a) => a.tree_id === t.tree_id)
            .map(
              (a): StoredAnswer => ({
                address: a.address,
                key: a.key,
                reply: parsed(a.reply),
                at: Number(a.at),
              }),
            ),
        }),
      );
    }).pipe(Effect.mapError(failed));

  const deleteRows = (treeId: string) =>
    Effect.forEach(
      ["arbor_durable_answers", "arbor_durable_agents", "arbor_durable_trees"],
      (table) => sql.query(`DELETE FROM ${table} WHERE tree_id = $1`, [treeId]),
      { discard: true },
    );

  const store: DurableStore = {
    createTree: (tree) =>
      sql
        .transaction(
          Effect.gen(function* () {
            // A tree of the same id that was not forgotten (it ended in a crash of the runtime) is replaced.
            yield* deleteRows(tree.treeId);
            yield* sql.query(
              "INSERT INTO arbor_durable_trees (tree_id, tenant, spec, created_at) VALUES ($1, $2, $3::jsonb, $4)",
              [tree.treeId, tree.tenant ?? null, json(tree.spec), tree.createdAt],
            );
          }),
        )
        .pipe(Effect.mapError(failed)),
    write,
    markResumed: (treeId, at) =>
      sql
        .query("UPDATE arbor_durable_trees SET resumed_at = $2 WHERE tree_id = $1", [treeId, at])
        .pipe(Effect.asVoid, Effect.mapError(failed)),
    deleteTree: (treeId) => sql.transaction(deleteRows(treeId)).pipe(Effect.mapError(failed)),
    loadTrees,
  };
  return store;
});
