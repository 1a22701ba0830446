/**
 * The port durable trees are kept through. The runtime writes a tree's spec when it is spawned,
 * then one batch per step boundary — the agents whose state changed (with the journal of the model
 * and tool calls their task in flight completed), the answers of finished asks — each batch in one
 * transaction; at start it reads
 * every kept tree back. The knowledge store implements it (knowledge/durable-store-sql.ts: embedded
 * PGlite by default, Postgres with `ARBOR_PG_URL`).
 */
import { Data, type Effect } from "effect";
import type { Fault } from "../errors.ts";

/** A tree as it was spawned. `spec` is the raw spec (before extensions), so it compiles again. */
export interface DurableTreeRecord {
  readonly treeId: string;
  readonly tenant?: string;
  readonly spec: unknown;
  readonly createdAt: number;
}

/**
 * A model or tool call a step completed, kept (with the task in flight, in its agent's state) so a
 * resumed step replays it instead of repeating it.
 */
export interface JournalEntry {
  /** Position of the call in the step (model calls, delegations and tool calls share one count). */
  readonly seq: number;
  readonly kind: "model" | "tool" | "delegate";
  readonly result: unknown;
}

/** The reply of an ask that named an `idempotencyKey`, kept so asking again returns it. */
export interface StoredAnswer {
  readonly address: string;
  readonly key: string;
  readonly reply: unknown;
  readonly at: number;
}

/** What one step boundary writes, in one transaction. */
export interface DurableBatch {
  readonly treeId: string;
  /**
   * Agents whose state changed, with their state as data (see state.ts) — the task in flight
   * carries its journal, so a finished task's journal goes with it.
   */
  readonly agents: ReadonlyArray<{ readonly address: string; readonly state: unknown }>;
  /** Agents that are gone for good (stopped dynamic agents). */
  readonly removed: ReadonlyArray<string>;
  readonly answers: ReadonlyArray<StoredAnswer>;
}

/** A kept tree as read back at start. `agents[].state` is undecoded: the runtime checks it. */
export interface StoredTree extends DurableTreeRecord {
  readonly resumedAt?: number;
  readonly agents: ReadonlyArray<{ readonly address: string; readonly state: unknown }>;
  readonly answers: ReadonlyArray<StoredAnswer>;
}

/** The durable store could not be read or written (a third party: the database). */
export class DurableStoreFailed extends Data.TaggedError("DurableStoreFailed")<{
  readonly reason: "durable_store_failed";
  readonly detail: string;
}> {
  readonly fault: Fault = "third_party";
  override get message(): string {
    return `durable tree store failed: ${this.detail}`;
  }
}

/** Where durable trees are kept. */
export interface DurableStore {
  /** Keeps a newly spawned tree (replacing one of the same id). */
  readonly createTree: (tree: DurableTreeRecord) => Effect.Effect<void, DurableStoreFailed>;
  /** Writes one step boundary's changes in one transaction. */
  readonly write: (batch: DurableBatch) => Effect.Effect<void, DurableStoreFailed>;
  /** Records when a kept tree came back after a restart. */
  readonly markResumed: (treeId: string, at: number) => Effect.Effect<void, DurableStoreFailed>;
  /** Forgets a tree that ended (completed, stopped or failed — not a server shutdown). */
  readonly deleteTree: (treeId: string) => Effect.Effect<void, DurableStoreFailed>;
  /** Every kept tree, oldest first. */
  readonly loadTrees: () => Effect.Effect<ReadonlyArray<StoredTree>, DurableStoreFailed>;
}
