/**
 * Created PGlite data dirs, made once and copied by tests.
 *
 * Creating a PGlite database costs ~2.5 s of CPU from the build's seed (knowledge/data-dir-seed.ts;
 * ~7 s with `initdb`), which the suite would pay some forty times. Opening a copy of a created one
 * costs ~1 s. Two templates:
 * - the bare one holds exactly what Arbor's first start makes before it migrates (`PGlite.create` +
 *   `CREATE EXTENSION vector`): the knowledge tests run Arbor's migrations on it;
 * - the schema one is the bare one after Arbor's own migrations, for the default embedder's
 *   dimension: tests of what runs on a database (the CLI, the server, package users) start from it
 *   and skip ~0.8 s of CPU per database spent creating tables and indexes.
 * The first start itself stays covered by the CLI test that watches `arbor serve` create its database.
 *
 * A run that finds them missing (a fresh clone) makes them in a child process while tests that
 * need no database go first (see vitest.setup.ts and test/support/sequencer.ts); a test that needs
 * one waits for it in `seededDataDir`.
 *
 * The templates' postgresql.conf sets `shared_buffers = 16MB` instead of initdb's 128MB: Postgres
 * initialises its whole buffer pool in WebAssembly memory at every start, ~0.5 s of CPU for 128MB
 * against ~0.05 s for 16MB, and a test's database holds a few hundred kilobytes.
 */
import { createHash } from "node:crypto";
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { Effect, Either } from "effect";
import { knowledgeConfig } from "../../knowledge/config.ts";
import { dataDirSeed } from "../../knowledge/data-dir-seed.ts";
import { migrate } from "../../knowledge/migrations.ts";
import { makePgliteClient, SqlClient } from "../../knowledge/sql-client.ts";

const repo = resolve(import.meta.dirname, "../..");
const versionOf = (name: string): string =>
  (JSON.parse(readFileSync(join(repo, "node_modules", name, "package.json"), "utf8")) as { version: string })
    .version;

const cache = join(repo, "node_modules", ".cache", "arbor-test");

/**
 * Makes a template in `dir` with `fill` (on a fresh folder) unless a previous run made it. Written
 * under a temporary name then renamed, so two suites starting together never see half a template.
 */
const ensure = async (dir: string, fill: (building: string) => Promise<void>): Promise<void> => {
  if (templateReady(dir)) return;
  mkdirSync(cache, { recursive: true });
  const building = mkdtempSync(join(cache, "building-"));
  await fill(building);
  try {
    renameSync(building, dir);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another run finished first: use its copy
  }
};

/** Where the two templates live: node_modules/.cache, keyed by what makes them. */
export const templatePaths = (): { readonly bare: string; readonly schema: string } => {
  const pglite = versionOf("@electric-sql/pglite");
  const bare = join(cache, `pglite-${pglite}-pgvector-${versionOf("@electric-sql/pglite-pgvector")}-sb16`);
  const source = readFileSync(join(repo, "knowledge", "migrations.ts"), "utf8");
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  return { bare, schema: `${bare}-schema-${hash}-d${defaultDimension()}` };
};

/** The default embedder's dimension, which the schema template is migrated for. */
const defaultDimension = (): number => {
  const config = knowledgeConfig({}, {});
  if (Either.isLeft(config)) throw new Error(`default knowledge config refused: ${config.left.detail}`);
  return config.right.dimension;
};

/** True when a template is complete (it appears only once made: see `ensure`). */
export const templateReady = (dir: string): boolean => existsSync(join(dir, "PG_VERSION"));

/**
 * Makes whichever template is missing: the bare one, then a copy of it migrated by Arbor for the
 * default embedder's dimension (keyed also by the migrations' source, so a changed migration
 * makes a new one).
 */
export const buildTemplates = async (): Promise<void> => {
  const { bare, schema } = templatePaths();
  await ensure(bare, async (building) => {
    // From the build's seed when it matches the installed PGlite, as Arbor's own first start does.
    const loadDataDir = dataDirSeed(building);
    const db = await PGlite.create(building, { extensions: { vector }, ...(loadDataDir && { loadDataDir }) });
    await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
    await db.close();
    appendFileSync(
      join(building, "postgresql.conf"),
      "\n# test template: see pglite-template.ts\nshared_buffers = 16MB\n",
    );
  });
  const dimension = defaultDimension();
  await ensure(schema, async (building) => {
    cpSync(bare, building, { recursive: true });
    const db = await PGlite.create(building, { extensions: { vector } });
    try {
      await Effect.runPromise(
        Effect.provideServiceEffect(migrate({ dimension }), SqlClient, makePgliteClient(db)),
      );
    } finally {
      await db.close();
    }
  });
};
