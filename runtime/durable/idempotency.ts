/**
 * Asks made with an `idempotencyKey`: the reply of a finished ask with that key is returned at once;
 * an ask with that key still queued or in flight (also one resumed after a restart, which no asker
 * waits on any more) is joined — the new asker gets its reply; otherwise the ask is made, carrying
 * the key, and its reply is kept (see answers.ts).
 *
 * Gotcha: a keyed ask is not withdrawn when its asker leaves (a disconnect, its deadline): it runs to
 * the end so that asking again with the key gets its reply. `agent.cancel` still withdraws it.
 */
import { Effect, Fiber } from "effect";
import type { AgentCell } from "../agent/cell.ts";
import type { AskError, Reply } from "../system.ts";

export const askOnce = (
  cell: AgentCell,
  key: string,
  ask: Effect.Effect<Reply, AskError>,
): Effect.Effect<Reply, AskError> =>
  Effect.suspend(() => {
    const kept = cell.tree.answers.get(cell.address, key);
    if (kept !== undefined) return Effect.succeed(kept);
    const running = cell.taskWithKey(key);
    if (running === undefined)
      return Effect.tap(ask, (reply) =>
        Effect.sync(() => cell.tree.answers.record(cell.address, key, reply)),
      );
    return Effect.async<Reply, AskError>((resume) => {
      let waiting = true;
      const before = running.settle;
      running.settle = (exit) => {
        before?.(exit);
        if (waiting) resume(exit);
      };
      // Leaving does not withdraw the task: its first asker (or its key) still wants it.
      return Effect.sync(() => {
        waiting = false;
      });
    }).pipe(Effect.tap((reply) => Effect.sync(() => cell.tree.answers.record(cell.address, key, reply))));
  });
