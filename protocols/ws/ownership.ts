/**
 * Which tenant owns which tree. Requests check ownership through the runtime (`listTrees`,
 * `treeOf`); the event fan-out needs the answer for every event, so it reads this cache, which
 * learns owners from spawns made through the server and from `listTrees` on a miss.
 *
 * Gotcha: a tree publishes its first events (`tree.started`, `agent.spawned`) while `spawnTree` is
 * still running, before anyone knows its id. A miss while spawns are pending therefore waits for
 * them to settle before concluding the tree has no owner.
 */
import { Deferred, Effect, FiberId } from "effect";
import type { ArborEvent } from "../../runtime/events.ts";
import type { AgentSystemService, TreeHandle } from "../../runtime/system.ts";

/** The tree id an event belongs to, or undefined for runtime-wide events (`address: "/"`). */
export const treeIdOfEvent = (event: ArborEvent): string | undefined => {
  const segment = event.address.split("/")[1];
  if (segment !== undefined && segment !== "") return segment;
  return event.tree === "" ? undefined : event.tree;
};

/** The owner cache. */
export interface Ownership {
  /** Runs a spawn for `tenant`, remembering the new tree's owner before the spawn counts as settled. */
  readonly spawn: <E>(tenant: string, spawn: Effect.Effect<TreeHandle, E>) => Effect.Effect<TreeHandle, E>;
  /** The owner of a tree; undefined when the runtime does not know it or it has no tenant. */
  readonly ownerOf: (treeId: string) => Effect.Effect<string | undefined>;
  /** Forgets a tree that stopped (after its `tree.stopped` event was fanned out). */
  readonly forget: (treeId: string) => void;
}

/** Makes the owner cache over the runtime. */
export const makeOwnership = (system: AgentSystemService): Ownership => {
  const owners = new Map<string, string | null>();
  let pending = 0;
  let settled: Deferred.Deferred<void> | undefined;

  const refresh = (treeId: string) =>
    Effect.map(system.listTrees(), (trees) => {
      for (const tree of trees) if (!owners.has(tree.treeId)) owners.set(tree.treeId, tree.tenant ?? null);
      return owners.get(treeId);
    });

  const waitForSpawns = Effect.suspend(() => {
    if (pending === 0) return Effect.void;
    if (settled === undefined) settled = Deferred.unsafeMake<void>(FiberId.none);
    return Deferred.await(settled);
  });

  const done = Effect.sync(() => {
    pending -= 1;
    if (pending === 0 && settled !== undefined) {
      Deferred.unsafeDone(settled, Effect.void);
      settled = undefined;
    }
  });

  return {
    spawn: (tenant, spawn) =>
      Effect.suspend(() => {
        pending += 1;
        return spawn.pipe(
          Effect.tap((handle) => Effect.sync(() => owners.set(handle.treeId, tenant))),
          Effect.ensuring(done),
        );
      }),
    ownerOf: (treeId) =>
      Effect.gen(function* () {
        const known = owners.get(treeId) ?? (yield* refresh(treeId));
        if (known !== undefined) return known ?? undefined;
        if (pending === 0) return undefined;
        yield* waitForSpawns;
        return owners.get(treeId) ?? (yield* refresh(treeId)) ?? undefined;
      }),
    forget: (treeId) => {
      owners.delete(treeId);
    },
  };
};
