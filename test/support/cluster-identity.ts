/**
 * The system identifier `initdb` gives a PostgreSQL cluster (the first 8 bytes of `global/pg_control`),
 * read from a data dir or from the build's seed archive: two clusters share it only when one was
 * copied from the other, so a data dir created from the seed carries the seed's.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

const dist = join(import.meta.dirname, "../../dist");

/** The identifier of the cluster in `dataDir`. */
export const clusterIdentifier = (dataDir: string): bigint =>
  readFileSync(join(dataDir, "global", "pg_control")).readBigUInt64LE(0);

/** The identifier of the cluster in `dist/pgdata-seed.tar.gz` (a ustar archive). */
export const seedClusterIdentifier = (): bigint => {
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
    if (name.endsWith("global/pg_control")) return tar.readBigUInt64LE(at + 512);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error("the seed archive holds no global/pg_control");
};
