/**
 * Planner statistics kept fresh as this process grows a table. PGlite has no autovacuum: with the
 * statistics of a near-empty table the planner misjudges how many rows a tenant holds (a name
 * lookup read every node of a tenant: 1.6 against 0.6 ms a search at 2,000 documents). A count of
 * rows written, not one write's size, decides: a load over the wire comes in frames of ~120
 * documents, each too small to count alone.
 */
import { Effect } from "effect";
import type { StoreError } from "../errors.ts";
import type { SqlClientService } from "../sql-client.ts";

/** Rows written after which a table's statistics are first refreshed. */
const FIRST_REFRESH = 200;

/**
 * Runs `analyze` (an `ANALYZE` statement) after this process's first `FIRST_REFRESH` rows written
 * to its table, then each time their count doubles; call the result with each write's row count.
 */
export const refreshOnGrowth = (
  sql: SqlClientService,
  analyze: string,
): ((added: number) => Effect.Effect<void, StoreError>) => {
  let written = 0;
  let next = FIRST_REFRESH;
  return (added) =>
    Effect.suspend(() => {
      written += added;
      if (written < next) return Effect.void;
      next = 2 * written;
      return sql.exec(analyze);
    });
};
