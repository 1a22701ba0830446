/**
 * Shared by the durable-tree suites: one embedded store per file (PGlite on a copy of the template,
 * with the SQL durable store), runtimes on it that can be closed and started again (a graceful
 * shutdown and a restart), and waits on what the store holds.
 */
import { Effect, Exit, Scope } from "effect";
import { afterAll, beforeAll } from "vitest";
import { makeSqlDurableStore } from "../../knowledge/durable-store-sql.ts";
import { SqlClient, type SqlClientService } from "../../knowledge/sql-client.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import type { DurableStore } from "../../runtime/durable/store.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import type { Plugin } from "../../runtime/plugin.ts";
import type { TreeSpec } from "../../runtime/spec/schema.ts";
import { pgliteAdapter, runtimeOf, type SqlAdapter } from "../knowledge/support.ts";
import { basePlugins } from "./support.ts";

/**
 * A durable tree whose agent calls `count_run` (a tool that counts its own runs), then answers
 * after sleeping `delayMs` — long enough to stop the runtime while the tool's result is journaled.
 */
export const keeperSpec = (name: string, delayMs: number): TreeSpec => ({
  name,
  durable: true,
  root: {
    name: "worker",
    kind: "child",
    history: { maxMessages: 10 },
    tools: { allow: ["count_run"] },
    model: {
      provider: "scripted",
      script: [
        { toolCalls: [{ name: "count_run", args: { label: name } }] },
        { text: "finished after {{tool}}", delayMs },
      ],
    },
  },
});

/** The file's store, open from `beforeAll` to `afterAll`. */
export interface DurableStoreUnderTest {
  sql: SqlClientService;
  store: DurableStore;
}

export const useDurableStore = (): DurableStoreUnderTest => {
  const kept = {} as DurableStoreUnderTest;
  let adapter: SqlAdapter;
  let db: ReturnType<typeof runtimeOf<SqlClient, unknown>>;
  beforeAll(async () => {
    adapter = await pgliteAdapter();
    db = runtimeOf(adapter.layer);
    kept.sql = await db.run(SqlClient);
    kept.store = await db.run(makeSqlDurableStore);
  });
  afterAll(async () => {
    await db.dispose();
    await adapter.close();
  });
  return kept;
};

/** A runtime on `store` with the kernel's base plugins and `plugins`, in its own scope (closing it is a graceful shutdown). */
export const startRuntime = async (store: DurableStore, plugins: ReadonlyArray<Plugin>) => {
  const scope = Effect.runSync(Scope.make());
  const events: ArborEvent[] = [];
  const system = await Effect.runPromise(
    makeAgentSystem({ plugins: [...basePlugins, ...plugins], durable: { store } }).pipe(Scope.extend(scope)),
  );
  system.events.listen((e) => events.push(e));
  return {
    system,
    events,
    run: <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void)),
  };
};

/** Waits (polling) until `check` holds. */
export const until = async (check: () => Promise<boolean> | boolean) => {
  while (!(await check())) await new Promise((r) => setTimeout(r, 5));
};

/** Whether `query` finds a row in the store. */
export const stored = async (sql: SqlClientService, query: string): Promise<boolean> =>
  (await Effect.runPromise(sql.query(query))).length > 0;
