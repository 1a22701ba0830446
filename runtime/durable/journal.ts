/**
 * The journal of one step of a durable tree: each model call, delegation and tool call the step
 * completes is kept with the task in flight (in its agent's state), numbered in the order the step
 * makes them. When a task is resumed after a restart its step runs again from the start, and every
 * call the journal already holds returns its recorded result instead of being made again — so
 * journaled tools do not run twice, and the step picks up at the call that was cut off.
 */
import { Effect } from "effect";
import type { Envelope } from "../agent/envelope.ts";
import { type DurableAgent, type DurableTree, newTaskId } from "./durable-tree.ts";
import type { JournalEntry } from "./store.ts";

/** What a step calls through its journal. */
export interface StepJournal {
  /** Runs `call` as the step's next call of `kind`, or returns its journaled result. */
  readonly once: <A, E, R>(
    kind: JournalEntry["kind"],
    call: Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E, R>;
}

/** The durable id of a task, made when a durable agent first keeps it. */
export const taskIdOf = (envelope: Envelope): string => {
  if (envelope.taskId === undefined) envelope.taskId = newTaskId();
  return envelope.taskId;
};

/** The journal of the step `agent` runs for `envelope`. */
export const stepJournal = (durable: DurableTree, agent: DurableAgent, envelope: Envelope): StepJournal => {
  taskIdOf(envelope);
  const replay = new Map((envelope.journal ?? []).map((entry) => [entry.seq, entry]));
  let seq = 0;
  return {
    once: (kind, call) =>
      Effect.suspend(() => {
        const n = seq++;
        const recorded = replay.get(n);
        if (recorded !== undefined && recorded.kind === kind)
          return Effect.succeed(recorded.result as Effect.Effect.Success<typeof call>);
        return Effect.tap(call, (result) => {
          envelope.journal = [...(envelope.journal ?? []).filter((e) => e.seq < n), { seq: n, kind, result }];
          // A tool's result is committed before the model sees it; other calls go with the next batch.
          if (kind === "tool") return durable.commit(agent);
          durable.touch(agent);
          return Effect.void;
        });
      }),
  };
};
