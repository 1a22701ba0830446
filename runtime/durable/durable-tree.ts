/**
 * The durable side of one tree: it collects what changed at each step boundary — agents whose
 * state moved (a task queued, taken or finished, a restart), the model and tool calls a step
 * completed, the answers of asks made with an `idempotencyKey` — and writes them to the durable
 * store one batch at a time, each in one transaction. Changes that arrive while a batch is being
 * written go into the next one, so a busy tree writes fewer, larger batches; an agent's state is read
 * when its batch is written, so it is always the latest.
 *
 * A step that journals a call waits until the batch holding it is committed before it goes on: a
 * tool call whose result is journaled is not run again after a crash (exactly once); a model call
 * cut off before its result was journaled is made again (at least once).
 */
import { randomUUID } from "node:crypto";
import { Deferred, Effect, Exit, FiberId } from "effect";
import type { EventBus } from "../events.ts";
import type { AgentState } from "./state.ts";
import type { DurableBatch, DurableStore, JournalEntry, StoredAnswer } from "./store.ts";

/** An agent whose state the durable tree writes. */
export interface DurableAgent {
  readonly address: string;
  readonly durableState: () => AgentState;
}

/** A short durable task id, unique across restarts (journal entries are keyed by it). */
export const newTaskId = (): string => `tk_${randomUUID().replaceAll("-", "").slice(0, 16)}`;

export class DurableTree {
  private readonly dirty = new Set<DurableAgent>();
  private removed: string[] = [];
  private journal: JournalEntry[] = [];
  private answers: StoredAnswer[] = [];
  private finished: Array<{ address: string; taskId: string }> = [];
  private waiters: Array<Deferred.Deferred<void>> = [];
  private writing = false;
  private frozen = false;
  private idle: Deferred.Deferred<void> | undefined;
  /** When the tree came back after a restart of the runtime (undefined: spawned in this process). */
  resumedAt: number | undefined;

  constructor(
    readonly treeId: string,
    private readonly store: DurableStore,
    private readonly events: EventBus,
    /** Forks outside the tree, so stopping the tree does not cut a write short. */
    private readonly runDetached: (effect: Effect.Effect<void>) => void,
  ) {}

  /** `agent`'s state changed: it is written with the next batch. */
  touch(agent: DurableAgent): void {
    if (this.frozen) return;
    this.dirty.add(agent);
    this.schedule();
  }

  /** A runtime-spawned agent is gone for good. */
  remove(agent: DurableAgent): void {
    if (this.frozen) return;
    this.dirty.delete(agent);
    this.removed.push(agent.address);
    this.schedule();
  }

  /** A task finished: its journal is dropped with the next batch. */
  finish(agent: DurableAgent, taskId: string): void {
    if (this.frozen) return;
    this.finished.push({ address: agent.address, taskId });
    this.dirty.add(agent);
    this.schedule();
  }

  /** Keeps the reply of an ask made with an `idempotencyKey`. */
  answer(answer: StoredAnswer): void {
    if (this.frozen) return;
    this.answers.push(answer);
    this.schedule();
  }

  /** Journals a completed call; resolves once the batch holding it is committed. */
  record(entry: JournalEntry): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.frozen) return Effect.void;
      this.journal.push(entry);
      const committed = Deferred.unsafeMake<void>(FiberId.none);
      this.waiters.push(committed);
      this.schedule();
      return Deferred.await(committed);
    });
  }

  /** Writes what is pending, then writes nothing more (the runtime is shutting down: the tree is kept as it is). */
  freeze(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const drained = this.writing || this.pending() ? this.whenIdle() : Effect.void;
      return Effect.zipRight(
        drained,
        Effect.sync(() => {
          this.frozen = true;
        }),
      );
    });
  }

  /** Stops writing and forgets the tree (it ended: it is not to come back). */
  forget(): Effect.Effect<void> {
    return Effect.zipRight(
      this.freeze(),
      Effect.catchAll(this.store.deleteTree(this.treeId), (error) => this.failed(error.message)),
    );
  }

  private pending(): boolean {
    return (
      this.dirty.size > 0 ||
      this.journal.length > 0 ||
      this.answers.length > 0 ||
      this.removed.length > 0 ||
      this.finished.length > 0
    );
  }

  private whenIdle(): Effect.Effect<void> {
    this.idle ??= Deferred.unsafeMake<void>(FiberId.none);
    return Deferred.await(this.idle);
  }

  private schedule(): void {
    if (this.writing) return;
    this.writing = true;
    this.runDetached(this.writeAll());
  }

  /** Writes batches until nothing is pending. */
  private writeAll(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (!this.pending()) {
        this.writing = false;
        const idle = this.idle;
        this.idle = undefined;
        return idle ? Deferred.done(idle, Exit.void) : Effect.void;
      }
      const batch: DurableBatch = {
        treeId: this.treeId,
        agents: [...this.dirty].map((a) => ({ address: a.address, state: a.durableState() })),
        removed: this.removed,
        journal: this.journal,
        answers: this.answers,
        finished: this.finished,
      };
      const waiters = this.waiters;
      this.dirty.clear();
      this.removed = [];
      this.journal = [];
      this.answers = [];
      this.finished = [];
      this.waiters = [];
      return this.store.write(batch).pipe(
        Effect.catchAll((error) => this.failed(error.message)),
        Effect.zipRight(Effect.forEach(waiters, (w) => Deferred.done(w, Exit.void), { discard: true })),
        Effect.zipRight(Effect.suspend(() => this.writeAll())),
      );
    });
  }

  private failed(reason: string): Effect.Effect<void> {
    return Effect.sync(() =>
      this.events.publishSync({
        type: "tree.durable_failed",
        tree: this.treeId,
        address: `/${this.treeId}`,
        id: this.treeId,
        reason,
      }),
    );
  }
}
