/**
 * Real databases for the knowledge tests: an in-process PGlite, and the same engine behind
 * pglite-socket spoken to by `pg` over the Postgres wire protocol.
 */
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { Effect, Layer, ManagedRuntime } from "effect";
import { layerHashingEmbedder } from "../../knowledge/embedder.ts";
import type { StoreError } from "../../knowledge/errors.ts";
import { layerSqlGraphStore } from "../../knowledge/graph-store-sql.ts";
import { layerPg, makePgliteClient, SqlClient } from "../../knowledge/sql-client.ts";
import { layerSqlVectorStore } from "../../knowledge/vector-store.ts";
import { seededPglite } from "../support/seeded-data-dir.ts";

/** One SQL adapter under test. */
export interface SqlAdapter {
  readonly name: "pglite" | "pg";
  readonly layer: Layer.Layer<SqlClient, StoreError>;
  readonly close: () => Promise<void>;
}

/** PGlite in process, on its own copy of the created template database. */
export const pgliteAdapter = async (): Promise<SqlAdapter> => {
  const { db, close } = await seededPglite();
  return {
    name: "pglite",
    layer: Layer.effect(SqlClient, makePgliteClient(db)),
    close,
  };
};

/** `pg` over the wire to a PGlite served by pglite-socket on 127.0.0.1 (all clients share one session). */
export const pgAdapter = async (): Promise<SqlAdapter> => {
  const { db, close } = await seededPglite();
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 4 });
  await server.start();
  return {
    name: "pg",
    layer: layerPg({ url: `postgres://postgres:postgres@${server.getServerConn()}/postgres`, max: 1 }),
    close: async () => {
      await server.stop();
      await close();
    },
  };
};

/** Both SQL adapters, for contract suites. */
export const sqlAdapters: ReadonlyArray<{ readonly name: string; readonly make: () => Promise<SqlAdapter> }> =
  [
    { name: "pglite", make: pgliteAdapter },
    { name: "pg over pglite-socket", make: pgAdapter },
  ];

/** A runtime built from `layer`, with a helper that runs an Effect on it as a Promise. */
export const runtimeOf = <R, E>(layer: Layer.Layer<R, E>) => {
  const runtime = ManagedRuntime.make(layer);
  return {
    run: <A, E2>(effect: Effect.Effect<A, E2, R>): Promise<A> => runtime.runPromise(effect),
    /** Runs and returns the failure (or throws when it succeeded). */
    fail: async <A, E2>(effect: Effect.Effect<A, E2, R>): Promise<E2> => {
      const exit = await runtime.runPromise(Effect.flip(effect));
      return exit;
    },
    dispose: () => runtime.dispose(),
  };
};

/** The offline stores a knowledge graph runs on in tests: SQL graph and vectors, the hashing embedder. */
export const offlineStores = (dimension: number) =>
  Layer.mergeAll(layerSqlGraphStore, layerSqlVectorStore({ dimension }), layerHashingEmbedder({ dimension }));
