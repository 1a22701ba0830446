/**
 * A created PGlite data dir (pgvector loaded, no Arbor tables), made once and copied by tests.
 *
 * Creating a PGlite database runs `initdb` inside WebAssembly: ~6–8 s of CPU, which the suite paid
 * some twenty times. Opening a copy of a created one costs ~1.5 s. The template holds exactly what
 * Arbor's first start makes before it migrates (`PGlite.create` + `CREATE EXTENSION vector`), so
 * every test still runs Arbor's own migrations on it. The first start itself stays covered by the
 * CLI test that watches `arbor serve` create its database.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";

const repo = resolve(import.meta.dirname, "../..");
const versionOf = (name: string): string =>
  (JSON.parse(readFileSync(join(repo, "node_modules", name, "package.json"), "utf8")) as { version: string })
    .version;

/**
 * Makes the template (global setup only) or finds the one a previous run made: it is kept in
 * node_modules/.cache, keyed by the PGlite and pgvector versions, and written under a temporary
 * name then renamed, so two suites starting together never see half a template.
 */
export const ensurePgliteTemplate = async (): Promise<string> => {
  const cache = join(repo, "node_modules", ".cache", "arbor-test");
  const dir = join(
    cache,
    `pglite-${versionOf("@electric-sql/pglite")}-pgvector-${versionOf("@electric-sql/pglite-pgvector")}`,
  );
  if (existsSync(join(dir, "PG_VERSION"))) return dir;
  mkdirSync(cache, { recursive: true });
  const building = mkdtempSync(join(cache, "building-"));
  const db = await PGlite.create(building, { extensions: { vector } });
  await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
  await db.close();
  try {
    renameSync(building, dir);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another run finished first: use its copy
  }
  return dir;
};
