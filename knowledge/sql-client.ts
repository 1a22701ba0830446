/**
 * `SqlClient`: one small interface over an in-process PGlite (with pgvector) and a `pg` pool
 * against Postgres with pgvector. The graph, vector and migration code speaks only to this.
 *
 * Conventions both adapters honour: parameters are `$1…`; JSON goes in as a string with a
 * `::jsonb` cast and comes out parsed; times are `double precision` epoch ms (never `bigint`,
 * which the two drivers decode differently); vectors go in as pgvector text (`[1,2,3]`).
 *
 * Each driver is loaded when its adapter opens, not with this module: a process on one never
 * pays for loading the other (`pg` alone was ~50 ms of every `arbor` command's start).
 */

import { mkdirSync } from "node:fs";
import type { PGlite } from "@electric-sql/pglite";
import { Context, Effect, FiberRef, Layer, type Scope } from "effect";
import type pg from "pg";
import { lockDataDir } from "./data-dir-lock.ts";
import { dataDirSeed } from "./data-dir-seed.ts";
import { describe, StoreError } from "./errors.ts";

/** A row as the driver returns it: validate or cast at the call site. */
export type Row = Readonly<Record<string, unknown>>;

/** The SQL port. */
export interface SqlClientService {
  readonly dialect: "pglite" | "pg";
  /** One parameterized statement. */
  readonly query: <R extends object = Row>(
    text: string,
    params?: ReadonlyArray<unknown>,
  ) => Effect.Effect<ReadonlyArray<R>, StoreError>;
  /**
   * Several statements without parameters (DDL, migrations, a batch built with `sqlLiteral`), in one
   * round trip; several statements sent at once run in one implicit transaction. A failure names
   * `label` when given, not the text (which may hold the data it writes).
   */
  readonly exec: (text: string, label?: string) => Effect.Effect<void, StoreError>;
  /**
   * Runs `body` in one transaction: every `query`/`exec` the body makes (on this fiber and its
   * children) goes to the same session; a failure or interruption rolls back.
   */
  readonly transaction: <A, E, R>(body: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreError, R>;
  /**
   * Binary `COPY … FROM` (PGlite only: it skips PGlite's slow text parsing of vectors).
   * Undefined on `pg`, where multi-row parameterized INSERTs are fast enough.
   */
  readonly copyFrom?: (statement: string, data: Blob) => Effect.Effect<void, StoreError>;
}

/** The SQL client service. */
export class SqlClient extends Context.Tag("arbor/knowledge/SqlClient")<SqlClient, SqlClientService>() {}

/**
 * A string as an SQL literal, for statements sent without parameters (`exec`): one round trip
 * instead of the extended protocol's several. Correct where `standard_conforming_strings` is on
 * (the default since Postgres 9.1, and PGlite's): only the quote is special. Undefined for a
 * string holding NUL, which Postgres text cannot hold: such a value must go as a parameter and fail
 * there.
 */
export const sqlLiteral = (value: string): string | undefined =>
  value.includes("\u0000") ? undefined : `'${value.replaceAll("'", "''")}'`;

const literalOf = (value: unknown): string | undefined => {
  if (value === null) return "NULL";
  if (typeof value === "string") return sqlLiteral(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
  if (Array.isArray(value)) {
    const items = value.map(literalOf);
    return items.every((i) => i !== undefined) ? `ARRAY[${items.join(", ")}]` : undefined;
  }
  return undefined;
};

/**
 * `text` with its parameters (`$1…`: strings, finite numbers, null, arrays of those) written in as
 * literals, for `exec`; undefined when one of them cannot be written so (the caller sends it as a
 * parameter instead).
 */
export const withLiterals = (text: string, params: ReadonlyArray<unknown>): string | undefined => {
  let complete = true;
  const out = text.replace(/\$(\d+)/g, (_, n: string) => {
    const literal = literalOf(params[Number(n) - 1]);
    if (literal === undefined) complete = false;
    return literal ?? "";
  });
  return complete ? out : undefined;
};

/** What one session can do; a transaction pins one. */
interface Session {
  readonly query: (text: string, params: ReadonlyArray<unknown>) => Promise<ReadonlyArray<Row>>;
  readonly exec: (text: string) => Promise<void>;
}

const failWith = (store: "pglite" | "pg", text: string) => (cause: unknown) =>
  new StoreError({
    reason: "query_failed",
    store,
    detail: `${describe(cause)} (in: ${text.replace(/\s+/g, " ").slice(0, 160)})`,
  });

/**
 * Builds the service from a way to run statements outside a transaction and a way to pin a
 * session for one. `exclusive` serializes everything (PGlite has one session for all callers).
 */
const makeClient = (options: {
  readonly dialect: "pglite" | "pg";
  readonly shared: Session;
  readonly pin: Effect.Effect<Session, StoreError, Scope.Scope>;
  readonly exclusive: boolean;
  readonly copyFrom?: (statement: string, data: Blob) => Promise<void>;
}): Effect.Effect<SqlClientService> =>
  Effect.gen(function* () {
    const { dialect, shared } = options;
    const current = FiberRef.unsafeMake<Session | undefined>(undefined);
    const lock = yield* Effect.makeSemaphore(1);
    const guarded = <A>(run: (session: Session) => Promise<A>, text: string): Effect.Effect<A, StoreError> =>
      Effect.flatMap(FiberRef.get(current), (pinned) => {
        const attempt = Effect.tryPromise({
          try: () => run(pinned ?? shared),
          catch: failWith(dialect, text),
        });
        return pinned || !options.exclusive ? attempt : lock.withPermits(1)(attempt);
      });
    const query = <R extends object = Row>(text: string, params: ReadonlyArray<unknown> = []) =>
      guarded((s) => s.query(text, params), text) as Effect.Effect<ReadonlyArray<R>, StoreError>;
    const exec = (text: string, label?: string) => guarded((s) => s.exec(text), label ?? text);
    const transaction = <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E | StoreError, R> =>
      Effect.flatMap(FiberRef.get(current), (pinned) => {
        if (pinned) return body; // already inside one: join it
        const run = Effect.scoped(
          Effect.gen(function* () {
            const session = yield* options.pin;
            const call = (text: string) =>
              Effect.tryPromise({ try: () => session.exec(text), catch: failWith(dialect, text) });
            yield* call("BEGIN");
            return yield* Effect.locally(body, current, session).pipe(
              Effect.tap(() => call("COMMIT")),
              Effect.onError(() => Effect.ignore(call("ROLLBACK"))),
            );
          }),
        );
        return options.exclusive ? lock.withPermits(1)(run) : run;
      });
    const copyFrom = options.copyFrom;
    return {
      dialect,
      query,
      exec,
      transaction,
      ...(copyFrom
        ? { copyFrom: (statement: string, data: Blob) => guarded(() => copyFrom(statement, data), statement) }
        : {}),
    };
  });

const pgliteSession = (db: PGlite): Session => ({
  query: async (text, params) => (await db.query<Row>(text, [...params])).rows,
  exec: async (text) => {
    await db.exec(text);
  },
});

/**
 * A `SqlClient` over an existing PGlite instance (loaded with the pgvector extension). The caller
 * owns the instance and closes it. Useful to share one database between layers or tests.
 */
export const makePgliteClient = (db: PGlite): Effect.Effect<SqlClientService> =>
  makeClient({
    dialect: "pglite",
    shared: pgliteSession(db),
    pin: Effect.succeed(pgliteSession(db)),
    exclusive: true,
    copyFrom: async (statement, blob) => {
      await db.query(statement, [], { blob });
    },
  });

/**
 * Opens a PGlite database with pgvector in `dataDir` (`memory://` for a throwaway one), holding the
 * folder's lock while it is open: a second process on the same folder is refused with who holds it.
 */
export const openPglite = (dataDir: string): Effect.Effect<PGlite, StoreError, Scope.Scope> =>
  Effect.zipRight(
    dataDir.startsWith("memory://") ? Effect.void : lockDataDir(dataDir),
    Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          if (!dataDir.startsWith("memory://")) mkdirSync(dataDir, { recursive: true });
          const [{ PGlite }, { vector }] = await Promise.all([
            import("@electric-sql/pglite"),
            import("@electric-sql/pglite-pgvector"),
          ]);
          const loadDataDir = dataDirSeed(dataDir);
          const db = await PGlite.create(dataDir, {
            extensions: { vector },
            ...(loadDataDir && { loadDataDir }),
          });
          await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
          return db;
        },
        catch: (cause) =>
          new StoreError({
            reason: "connection_failed",
            store: "pglite",
            detail: `cannot open PGlite at ${dataDir}: ${describe(cause)}`,
          }),
      }),
      (db) => Effect.promise(() => db.close()),
    ),
  );

/**
 * The embedded default: one PGlite database in `dataDir` (a folder; created when missing; data
 * survives a restart). Gotcha: only one process may open a data dir at a time.
 */
export const layerPglite = (options: { readonly dataDir: string }): Layer.Layer<SqlClient, StoreError> =>
  Layer.scoped(SqlClient, Effect.flatMap(openPglite(options.dataDir), makePgliteClient));

/** Options of the `pg` adapter. `max` is the pool size. */
export interface PgOptions {
  readonly url: string;
  readonly max?: number;
}

/**
 * A `pg` pool against Postgres with the pgvector extension (`ARBOR_PG_URL`). The pool is closed
 * with the layer. The vector type parser of the `pgvector` package is registered on each
 * connection, so selected vectors come back as `number[]`.
 */
export const layerPg = (options: PgOptions): Layer.Layer<SqlClient, StoreError> =>
  Layer.scoped(
    SqlClient,
    Effect.gen(function* () {
      const connectError = (cause: unknown) =>
        new StoreError({ reason: "connection_failed", store: "pg", detail: describe(cause) });
      const [{ default: pg }, { default: pgvector }] = yield* Effect.tryPromise({
        try: () => Promise.all([import("pg"), import("pgvector/pg")]),
        catch: connectError,
      });
      // The extension must exist before the type parser can be registered on a connection.
      yield* Effect.tryPromise({
        try: async () => {
          const client = new pg.Client({ connectionString: options.url });
          await client.connect();
          try {
            await client.query("CREATE EXTENSION IF NOT EXISTS vector");
          } finally {
            await client.end();
          }
        },
        catch: connectError,
      });
      const pool = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const created = new pg.Pool({ connectionString: options.url, max: options.max ?? 10 });
          created.on("error", () => {}); // idle-client errors surface on the next query instead
          return created;
        }),
        (p) => Effect.promise(() => p.end()),
      );
      const prepare = async (client: pg.PoolClient) => {
        const tagged = client as pg.PoolClient & { arborReady?: boolean };
        if (!tagged.arborReady) {
          await pgvector.registerTypes(client);
          tagged.arborReady = true;
        }
      };
      const withClient = async <A>(use: (client: pg.PoolClient) => Promise<A>): Promise<A> => {
        const client = await pool.connect();
        try {
          await prepare(client);
          return await use(client);
        } finally {
          client.release();
        }
      };
      const clientSession = (client: pg.PoolClient): Session => ({
        query: async (text, params) => (await client.query(text, [...params])).rows as ReadonlyArray<Row>,
        exec: async (text) => {
          await client.query(text);
        },
      });
      const pin = Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const client = await pool.connect();
            await prepare(client);
            return client;
          },
          catch: connectError,
        }),
        (client) => Effect.sync(() => client.release()),
      ).pipe(Effect.map(clientSession));
      return yield* makeClient({
        dialect: "pg",
        shared: {
          query: (text, params) => withClient((c) => clientSession(c).query(text, params)),
          exec: (text) => withClient((c) => clientSession(c).exec(text)),
        },
        pin,
        exclusive: false,
      });
    }),
  );
