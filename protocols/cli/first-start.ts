/**
 * The first `arbor serve` (`npm start`) creates the embedded database, which takes a few seconds:
 * this says so before it starts, so the wait is not silent.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULT_DATA_DIR } from "../../knowledge/config.ts";

/** The line to print when the embedded PGlite database does not exist yet; undefined otherwise. */
export const firstStart = (section: unknown, env: NodeJS.ProcessEnv = process.env): string | undefined => {
  if (env.ARBOR_PG_URL) return undefined;
  const configured =
    typeof section === "object" && section !== null ? (section as { dataDir?: unknown }).dataDir : undefined;
  const dir = resolve(typeof configured === "string" ? configured : (env.ARBOR_DATA_DIR ?? DEFAULT_DATA_DIR));
  if (existsSync(dir)) return undefined;
  return `first start: creating the embedded database in ${dir} (PGlite with pgvector; takes a few seconds, once)…`;
};
