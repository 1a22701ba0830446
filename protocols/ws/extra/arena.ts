/**
 * `arena.run {suite}` and `arena.leaderboard {suite}` on the wire. Results are kept per tenant: a
 * tenant's arena runs its contenders in a tree of its own and its standings count only its results.
 */
import { Effect, Schema } from "effect";
import { leaderboard } from "../../../agents/arena/leaderboard.ts";
import { runArena } from "../../../agents/arena/run.ts";
import type { ArenaStore } from "../../../agents/arena/store.ts";
import type { AgentSystemService } from "../../../runtime/system.ts";
import { RpcCode, rpcFailure, toRpcFailure } from "../codes.ts";
import type { ExtraMethods, MethodDef } from "../methods.ts";

const RunParams = Schema.Struct({ suite: Schema.Unknown });
const BoardParams = Schema.Struct({ suite: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)) });

/** `onRun` hears of every finished run, with the tenant that ran it (the router's standings refresh). */
export const arenaMethods = (
  system: AgentSystemService,
  store: ArenaStore,
  onRun: (tenant: string) => Effect.Effect<void> = () => Effect.void,
): ExtraMethods => ({
  "arena.run": {
    params: RunParams as unknown as MethodDef["params"],
    run: (params, caller) =>
      runArena(system, (params as typeof RunParams.Type).suite, { store, tenant: caller.tenant }).pipe(
        Effect.tap(() => onRun(caller.tenant)),
        Effect.map(({ run, results, standings }) => ({ run, results, standings })),
        Effect.mapError((error) =>
          error._tag === "ArenaInvalid"
            ? rpcFailure(RpcCode.invalidParams, "invalid_suite", "user", error.message, {
                problems: error.problems.map((p) => ({ ...p, path: `$.params.suite${p.path.slice(1)}` })),
              })
            : toRpcFailure(error),
        ),
      ),
  },
  "arena.leaderboard": {
    params: BoardParams as unknown as MethodDef["params"],
    run: (params, caller) =>
      store.results(caller.tenant, (params as typeof BoardParams.Type).suite).pipe(
        Effect.map((results) => ({ standings: leaderboard(results) })),
        Effect.mapError(toRpcFailure),
      ),
  },
});
