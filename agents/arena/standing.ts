/**
 * The arena standings the router reads (`routing.arenaBias`): ratings by model from the operator's
 * stored results, kept in memory and refreshed after each operator run, so a model call reads a map
 * and never the database.
 */
import { Effect } from "effect";
import { leaderboard, ratingsByModel } from "./leaderboard.ts";
import type { ArenaStore } from "./store.ts";

export interface ArenaStanding {
  /** Ratings by `provider/model` (higher is better); empty until refreshed. */
  readonly ratings: () => ReadonlyMap<string, number>;
  /** Re-reads `tenant`'s results from the store, suite by suite. */
  readonly refresh: (tenant: string) => Effect.Effect<void>;
}

export const makeArenaStanding = (store: ArenaStore): ArenaStanding => {
  let ratings: ReadonlyMap<string, number> = new Map();
  return {
    ratings: () => ratings,
    refresh: (tenant) =>
      store.results(tenant).pipe(
        Effect.flatMap((results) =>
          Effect.sync(() => {
            const bySuite = new Map<string, typeof results>();
            for (const r of results) bySuite.set(r.suite, [...(bySuite.get(r.suite) ?? []), r]);
            ratings = ratingsByModel([...bySuite.values()].flatMap((suite) => leaderboard(suite)));
          }),
        ),
        // Routing goes on with the standings it had when the store cannot be read.
        Effect.catchAll(() => Effect.void),
      ),
  };
};
