/**
 * The durable-tree store (runtime/durable/store.ts) on Postgres or the embedded PGlite: kept trees,
 * their agents' state, the journal of tasks in flight and replies by idempotency key (migration 8).
 * A step boundary's batch is one transaction of at most five statements, each writing all its rows at
 * once from a JSON array (`jsonb_to_recordset`), so a batch costs the same round trips however many
 * agents it touches.
 */
import { Effect } from "effect";
import {
  type DurableStore,
  DurableStoreFailed,
  type JournalEntry,
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

  const write: DurableStore["write"] = (batch) =>
    sql
      .transaction(
        Effect.gen(function* () {
          const { treeId } = batch;
          if (batch.agents.length > 0)
            yield* sql.query(
              `INSERT INTO arbor_durable_agents (tree_id, address, state)
               SELECT $1, a.address, a.state FROM jsonb_to_recordset($2::jsonb) AS a(address text, state jsonb)
               ON CONFLICT (tree_id, address) DO UPDATE SET state = excluded.state`,
              [treeId, json(batch.agents)],
            );
          if (batch.removed.length > 0)
            yield* sql.query(
              "DELETE FROM arbor_durable_agents WHERE tree_id = $1 AND address = ANY($2::text[])",
              [treeId, batch.removed],
            );
          if (batch.journal.length > 0)
            yield* sql.query(
              `INSERT INTO arbor_durable_journal (tree_id, address, task_id, seq, kind, result)
               SELECT $1, j.address, j."taskId", j.seq, j.kind, j.result
                 FROM jsonb_to_recordset($2::jsonb) AS j(address text, "taskId" text, seq integer, kind text, result jsonb)
               ON CONFLICT DO NOTHING`,
              [treeId, json(batch.journal)],
            );
          if (batch.answers.length > 0)
            yield* sql.query(
              `INSERT INTO arbor_durable_answers (tree_id, address, key, reply, at)
               SELECT $1, a.address, a.key, a.reply, a.at
                 FROM jsonb_to_recordset($2::jsonb) AS a(address text, key text, reply jsonb, at double precision)
               ON CONFLICT DO NOTHING`,
              [treeId, json(batch.answers)],
            );
          if (batch.finished.length > 0)
            yield* sql.query(
              `DELETE FROM arbor_durable_journal j
                USING jsonb_to_recordset($2::jsonb) AS f(address text, "taskId" text)
                WHERE j.tree_id = $1 AND j.address = f.address AND j.task_id = f."taskId"`,
              [treeId, json(batch.finished)],
            );
        }),
      )
      .pipe(Effect.mapError(failed));

  const loadTrees: DurableStore["loadTrees"] = () =>
    Effect.gen(function* () {
      const trees = yield* sql.query<TreeRow>(
        "SELECT * FROM arbor_durable_trees ORDER BY created_at, tree_id",
      );
      const agents = yield* sql.query<{ tree_id: string; address: string; state: unknown }>(
        "SELECT tree_id, address, state FROM arbor_durable_agents ORDER BY tree_id, address",
      );
      const journal = yield* sql.query<{
        tree_id: string;
        address: string;
        task_id: string;
        seq: number;
        kind: JournalEntry["kind"];
        result: unknown;
      }>("SELECT * FROM arbor_durable_journal ORDER BY tree_id, address, task_id, seq");
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
          journal: journal
            .filter((j) => j.tree_id === t.tree_id)
            .map((j) => ({
              address: j.address,
              taskId: j.task_id,
              seq: j.seq,
              kind: j.kind,
              result: parsed(j.result),
            })),
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

  const store: DurableStore = {
    createTree: (tree) =>
      sql
        .transaction(
          Effect.gen(function* () {
            // A tree of the same id that was not forgotten (it ended in a crash of the runtime) is replaced.
            yield* sql.query("DELETE FROM arbor_durable_trees WHERE tree_id = $1", [tree.treeId]);
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
    deleteTree: (treeId) =>
      sql
        .query("DELETE FROM arbor_durable_trees WHERE tree_id = $1", [treeId])
        .pipe(Effect.asVoid, Effect.mapError(failed)),
    loadTrees,
  };
  return store;
});
