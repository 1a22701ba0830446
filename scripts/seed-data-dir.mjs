/**
 * Makes dist/pgdata-seed.tar.gz: an empty PostgreSQL cluster as PGlite's `initdb` creates it, and
 * dist/pgdata-seed.json, naming the PGlite version that made it. Runs after `tsc` in the build.
 *
 * Why: creating a data dir runs `initdb` in WebAssembly, ~7 s of CPU on this 2-core machine, at a
 * user's first `arbor serve` and for every new store. Unpacking this archive instead costs ~2.5 s
 * (knowledge/data-dir-seed.ts). It holds nothing of Arbor's: no extension, no table; Arbor's
 * migrations run on it as they would on a cluster `initdb` made.
 *
 * Made once per installed PGlite version: a build that finds a seed made by the same version keeps it.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { installedPglite, SEED_ARCHIVE, SEED_MANIFEST } from "../dist/knowledge/data-dir-seed.js";

const archive = join("dist", SEED_ARCHIVE);
const manifest = join("dist", SEED_MANIFEST);
const version = installedPglite();
const made =
  existsSync(manifest) && existsSync(archive) ? JSON.parse(readFileSync(manifest, "utf8")) : undefined;
if (version !== null && made?.pglite !== version) {
  const dir = mkdtempSync(join(tmpdir(), "arbor-seed-"));
  try {
    const db = await PGlite.create(join(dir, "data"));
    const tarball = await db.dumpDataDir("gzip");
    await db.close();
    // Written under another name, then renamed: a build stopped half-way leaves no half archive.
    writeFileSync(`${archive}.part`, Buffer.from(await tarball.arrayBuffer()));
    renameSync(`${archive}.part`, archive);
    writeFileSync(manifest, `${JSON.stringify({ pglite: version }, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
