/**
 * When the build's seed cluster is used for a new data dir. That a first start does use it (and
 * works) is watched end to end by the CLI test of the first `arbor serve` (test/cli/polish.test.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dataDirSeed } from "../../knowledge/data-dir-seed.ts";

const dist = join(import.meta.dirname, "../../dist");
const scratch = mkdtempSync(join(tmpdir(), "arbor-seed-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("the seed cluster", () => {
  it("is offered for a new data dir and for memory://, never for a folder that holds a cluster", () => {
    expect(dataDirSeed(join(scratch, "new"), dist)).toBeInstanceOf(Blob);
    expect(dataDirSeed("memory://", dist)).toBeInstanceOf(Blob);
    const existing = join(scratch, "existing");
    mkdirSync(existing);
    writeFileSync(join(existing, "PG_VERSION"), "17\n");
    expect(dataDirSeed(existing, dist)).toBeUndefined();
  });

  it("is not used when another PGlite version made it, or when it is missing: PGlite creates the cluster", () => {
    const other = join(scratch, "other-dist");
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, "pgdata-seed.tar.gz"), readFileSync(join(dist, "pgdata-seed.tar.gz")));
    writeFileSync(join(other, "pgdata-seed.json"), JSON.stringify({ pglite: "0.0.1" }));
    expect(dataDirSeed(join(scratch, "unseeded"), other)).toBeUndefined();
    writeFileSync(join(other, "pgdata-seed.json"), readFileSync(join(dist, "pgdata-seed.json")));
    expect(dataDirSeed(join(scratch, "unseeded"), other)).toBeInstanceOf(Blob);
    rmSync(join(other, "pgdata-seed.tar.gz"));
    expect(dataDirSeed(join(scratch, "unseeded"), other)).toBeUndefined();
  });
});
