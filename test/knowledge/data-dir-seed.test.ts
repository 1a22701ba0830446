import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { Effect } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { dataDirSeed } from "../../knowledge/data-dir-seed.ts";
import { openPglite } from "../../knowledge/sql-client.ts";

const dist = join(import.meta.dirname, "../../dist");
const scratch = mkdtempSync(join(tmpdir(), "arbor-seed-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The cluster's system identifier stored in the seed archive (`global/pg_control`'s first 8 bytes). */
const seedIdentifier = (): bigint => {
  const tar = gunzipSync(readFileSync(join(dist, "pgdata-seed.tar.gz")));
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = tar
      .subarray(at, at + 100)
      .toString("latin1")
      .replace(/\0.*$/s, "");
    const size = Number.parseInt(
      tar
        .subarray(at + 124, at + 136)
        .toString("latin1")
        .trim() || "0",
      8,
    );
    if (name.replace(/^\.?\//, "").endsWith("global/pg_control")) return tar.readBigUInt64LE(at + 512);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error("the seed archive holds no global/pg_control");
};

describe("a new embedded store", () => {
  it("starts from the build's seed cluster instead of running initdb, and works as a database", async () => {
    const dataDir = join(scratch, "fresh", "data");
    const [identifier, rows] = await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(openPglite(dataDir), (db) =>
          Effect.promise(async () => {
            await db.exec(
              "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'kept')",
            );
            const control = await db.query<{ id: string }>(
              "SELECT system_identifier::text AS id FROM pg_control_system()",
            );
            const notes = await db.query<{ body: string }>("SELECT body FROM notes");
            return [BigInt(control.rows[0]!.id), notes.rows] as const;
          }),
        ),
      ),
    );
    expect(identifier).toBe(seedIdentifier());
    expect(rows).toEqual([{ body: "kept" }]);
    // Once it holds a cluster, the folder is opened as it is, never seeded again.
    expect(dataDirSeed(dataDir, dist)).toBeUndefined();
  });

  it("is created by PGlite itself when the seed was made by another PGlite version", () => {
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
