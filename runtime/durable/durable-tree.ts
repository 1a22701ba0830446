/**
 * The durable side of one tree: it collects what changed at each step boundary — agents whose
 * state moved (a task queued, taken or finished, a call journaled, a restart), the answers of asks
 * made with an `idempotencyKey` — and writes them to the durable store one batch at a time, each in
 * one transaction. A batch is taken one event-loop turn after its first change, and changes that
 * arrive while a batch is being written go into the next one, so a fast step is one write and a busy
 * tree writes fewer, larger batches; an agent's state is read when its batch is written, so it is
 * always the latest.
 *
 * A step that journals a tool call waits until the batch holding it is committed before it goes on,
 * so the model never sees a tool result that a crash could make run again: a tool call whose result
 * is journaled is not run again after a crash (exactly once); a tool call or model call cut off
 * before its result was journaled is made again (at least once).
 */
import { randomUUID } from "node:crypto";
import { Deferred, Effect, Exit, FiberId } from "effect";
import type { EventBus } from "../events.ts";
import type { AgentState } from "./state.ts";
import type { DurableBatch, DurableStore, StoredAnswer } from "./store.ts";

/** An agent whose state the durable tree writes. */
export interface DurableAgent {
  readonly address: string;
  readonly durableState: () => AgentState;
}

/** A short durable task id, unique across restarts. */
export const newTaskId = (): string => `tk_${randomUUID().replaceAll("-", "").slice(0, 16)}`;

export class DurableTree {
  private readonly dirty = new Set<DurableAgent>();
  private removed: string[] = [];
  private answers: StoredAnswer[] = [];
  private waiters: Array<Deferred.Deferred<void>> = [];
  private writing = false;
  private frozen = false;
  private idle: Deferred.Deferred<void> | undefined;
  /** A batch due at the next turn of the event loop, not started yet. */
  private nextTurn: ReturnType<typeof setImmediate> | undefined;
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

  /** Keeps the reply of an ask made with an `idempotencyKey`. */
  answer(answer: StoredAnswer): void {
    if (this.frozen) return;
    this.answers.push(answer);
    this.schedule();
  }

  /** `agent`'s state changed; resolves once the batch holding the change is committed. */
  commit(agent: DurableAgent): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.frozen) return Effect.void;
      this.dirty.add(agent);
      const committed = Deferred.unsafeMake<void>(FiberId.none);
      this.waiters.push(committed);
      // The step waits for this write: it starts now rather than a turn later.
      this.schedule(true);
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
    return this.dirty.size > 0 || this.answers.length > 0 || this.removed.length > 0;
  }

  private whenIdle(): Effect.Effect<void> {
    this.idle ??= Deferred.unsafeMake<void>(FiberId.none);
    return Deferred.await(this.idle);
  }

  /**
   * Starts writing: one event-loop turn from now (the changes of a fast step arrive meanwhile and
   * share the batch), or at once when a step waits for it — also when a batch was already due at
   * the next turn, which then starts now instead.
   */
  private schedule(now = false): void {
    if (now && this.nextTurn !== undefined) {
      clearImmediate(this.nextTurn);
      this.nextTurn = undefined;
      this.runDetached(this.writeAll());
      return;
    }
    if (this.writing) return;
    this.writing = true;
    if (now) this.runDetached(this.writeAll());
    else
      this.nextTurn = setImmediate(() => {
        this.nextTurn = undefined;
        this.runDetached(this.writeAll());
      });
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
        agents: [...this.dirty].flatMap((a) => {
          try {
            return [{ address: a.address, state: a.durableState() }];
          } catch (error) {
            this.failedSync(
              `${a.address}: state not written: ${error instanceof Error ? error.message : String(error)}`,
            );
            return [];
          }
        }),
        removed: this.removed,
        answers: this.answers,
      };
      const waiters = this.waiters;
      this.dirty.clear();
      this.removed = [];
      this.answers = [];
      this.waiters = [];
      return Effect.suspend(() => this.store.write(batch)).pipe(
        Effect.catchAll((error) => this.failed(error.message)),
        // A state that cannot be written (a handler's `save` that throws, a value JSON cannot hold)
        // is reported like a failed write; the writer goes on with the next batch.
        Effect.catchAllDefect((defect) =>
          this.failed(`state not written: ${defect instanceof Error ? defect.message : String(defect)}`),
        ),
        Effect.zipRight(Effect.forEach(waiters, (w) => Deferred.done(w, Exit.void), { discard: true })),
        Effect.zipRight(Effect.suspend(() => this.writeAll())),
      );
    });
  }

  private failed(reason: string): Effect.Effect<void> {
    return Effect.sync(() => this.failedSync(reason));
  }

  private failedSync(reason: string): void {
    this.events.publishSync({
      type: "tree.durable_failed",
      tree: this.treeId,
      address: `/${this.treeId}`,
      id: this.treeId,
      reason,
    });
  }
}
