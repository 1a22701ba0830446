/**
 * A new embedded data dir starts from the empty cluster the build made (scripts/seed-data-dir.mjs,
 * `dist/pgdata-seed.tar.gz`) instead of running PGlite's `initdb`: ~2.5 s of CPU instead of ~7 s at a
 * user's first `arbor serve` and for every new store.
 *
 * The seed is used only when the PGlite that made it is the one installed (a cluster must match its
 * server's version); otherwise, or when the seed is missing (sources run without a build), PGlite
 * creates the cluster itself, as before.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { packageDirOf, packageRoot } from "../runtime/package-root.ts";

let installed: string | null | undefined;

/** The seed's archive and the manifest naming the PGlite that made it, in the package's `dist/`. */
export const SEED_ARCHIVE = "pgdata-seed.tar.gz";
export const SEED_MANIFEST = "pgdata-seed.json";

/** The installed PGlite's version (its `exports` hide its package.json), or null when unknown. */
export const installedPglite = (): string | null => {
  if (installed !== undefined) return installed;
  installed = null;
  try {
    const entry = createRequire(join(packageRoot(), "package.json")).resolve("@electric-sql/pglite");
    installed = packageDirOf(dirname(entry), "@electric-sql/pglite")?.version ?? null;
  } catch {}
  return installed;
};

/**
 * The seed archive for a data dir that holds no cluster yet (an in-memory one, `memory://`, never
 * does), or undefined: when `dataDir` already holds one, or when no seed matches the installed PGlite.
 * `dist` is where the build put the seed (the package's `dist/`).
 */
export const dataDirSeed = (dataDir: string, dist = join(packageRoot(), "dist")): Blob | undefined => {
  if (!dataDir.startsWith("memory://") && existsSync(join(dataDir, "PG_VERSION"))) return undefined;
  try {
    const made = JSON.parse(readFileSync(join(dist, SEED_MANIFEST), "utf8")) as { pglite?: unknown };
    if (made.pglite !== installedPglite()) return undefined;
    return new Blob([readFileSync(join(dist, SEED_ARCHIVE))]);
  } catch {
    return undefined;
  }
};
