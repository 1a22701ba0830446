/**
 * Bringing durable trees back when the runtime starts: each kept tree is decoded, compiled again
 * from its stored spec and spawned under its old id, its agents restored (thread histories, restart
 * counts, queued tasks, the task in flight with its journal) and its runtime-spawned agents spawned
 * again below their parents. A tree that cannot come back — a state that does not decode, a format
 * of another release, a spec that no longer compiles (a plugin gone) — stays down with a
 * `tree.resume_failed` event and a reason; the others come back.
 */
import { Effect, Either } from "effect";
import type { EventBus } from "../events.ts";
import type { TreeHandle } from "../system.ts";
import { decodeAgentState, type RestoredAgent } from "./state.ts";
import type { DurableStore, DurableStoreFailed, StoredTree } from "./store.ts";

/** What came back and what stayed down. */
export interface ResumeReport {
  readonly resumed: ReadonlyArray<{ readonly treeId: string; readonly tasks: number }>;
  readonly down: ReadonlyArray<{ readonly treeId: string; readonly reason: string }>;
}

export interface ResumeHooks {
  /** Spawns the stored tree under its id with its agents' state. */
  readonly spawn: (
    stored: StoredTree,
    agents: ReadonlyMap<string, RestoredAgent>,
  ) => Effect.Effect<TreeHandle, { readonly message: string }>;
  /** Keeps the id of a tree that stays down reserved. */
  readonly keepDown: (treeId: string) => void;
  readonly events: EventBus;
}

/** Decodes every agent of a stored tree, or says why the tree cannot come back. */
const restoredAgents = (stored: StoredTree): Either.Either<Map<string, RestoredAgent>, string> => {
  const agents = new Map<string, RestoredAgent>();
  for (const { address, state: raw } of stored.agents) {
    const decoded = decodeAgentState(address, raw);
    if (Either.isLeft(decoded)) return Either.left(decoded.left);
    agents.set(address, { state: decoded.right });
  }
  return Either.right(agents);
};

const countTasks = (agents: ReadonlyMap<string, RestoredAgent>): number => {
  let tasks = 0;
  for (const { state } of agents.values()) tasks += state.queued.length + (state.inFlight ? 1 : 0);
  return tasks;
};

export const resumeTrees = (
  store: DurableStore,
  hooks: ResumeHooks,
): Effect.Effect<ResumeReport, DurableStoreFailed> =>
  Effect.gen(function* () {
    const stored = yield* store.loadTrees();
    const resumed: Array<{ treeId: string; tasks: number }> = [];
    const down: Array<{ treeId: string; reason: string }> = [];
    const stayDown = (treeId: string, reason: string) => {
      hooks.keepDown(treeId);
      down.push({ treeId, reason });
      hooks.events.publishSync({
        type: "tree.resume_failed",
        tree: treeId,
        address: `/${treeId}`,
        id: treeId,
        reason,
      });
    };
    for (const tree of stored) {
      const agents = restoredAgents(tree);
      if (Either.isLeft(agents)) {
        stayDown(tree.treeId, agents.left);
        continue;
      }
      const spawned = yield* Effect.either(hooks.spawn(tree, agents.right));
      if (Either.isLeft(spawned)) {
        stayDown(tree.treeId, `its stored spec no longer starts: ${spawned.left.message}`);
        continue;
      }
      const tasks = countTasks(agents.right);
      resumed.push({ treeId: tree.treeId, tasks });
      hooks.events.publishSync({
        type: "tree.resumed",
        tree: tree.treeId,
        address: spawned.right.root,
        id: tree.treeId,
        name: spawned.right.name,
        tasks,
      });
    }
    return { resumed, down };
  });
