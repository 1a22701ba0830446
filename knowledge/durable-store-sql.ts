/**
 * The durable-tree store (runtime/durable/store.ts) on Postgres or the embedded PGlite: kept trees,
 * their agents' state (with the journal of the task in flight) and replies by idempotency key
 * (migration 8). A step boundary's batch is usually one statement — an upsert of every agent that
 * changed, in one multi-row INSERT — so a batch costs the same round trips however many agents it
 * touches; a batch that also keeps answers or removes agents is one transaction.
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
import { type Row, SqlClient } from "./sql-client.ts";

const failed = (error: { readonly message: string }) =>
  new DurableStoreFailed({ reason: "durable_store_failed", detail: error.message });

const json = (value: unknown): string => JSON.stringify(value);

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

  // One statement is atomic by itself: only a batch of several pays for a transaction.
  const write: DurableStore["write"] = (batch) => {
    const all = statements(batch).map(([text, params]) => sql.query(text, params));
    const run = all.length === 1 ? all[0]! : sql.transaction(Effect.all(all, { discard: true }));
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
