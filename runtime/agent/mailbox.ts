/**
 * A bounded FIFO mailbox with an overflow policy. It belongs to an agent's address, not to one
 * incarnation, so messages waiting for a crashed agent are kept for the restarted one.
 *
 * - `backpressure`: `offer` reports `full`; the router makes the sender wait (`waitForSpace`).
 * - `drop-newest`: the new message is dropped and counted.
 * - `fail`: the new message is refused and counted; the sender gets a typed error.
 */

export type OverflowPolicy = "backpressure" | "drop-newest" | "fail";

export class Mailbox<T> {
  private items: Array<T | undefined>;
  private head = 0;
  private count = 0;
  /** Senders waiting for space (made with the first: only a full backpressure mailbox has any). */
  private waiters: Array<() => void> | undefined;
  /** Messages refused or dropped because the mailbox was full. */
  dropped = 0;

  constructor(
    readonly capacity: number,
    readonly overflow: OverflowPolicy,
  ) {
    this.items = [];
  }

  get size(): number {
    return this.count;
  }

  /** Adds at the tail; `full` when at capacity (the caller applies the overflow policy). */
  offer(item: T): "ok" | "full" {
    if (this.count >= this.capacity) return "full";
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
    return "ok";
  }

  /** Puts an item back at the head (a task whose incarnation crashed before finishing). */
  unshift(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = item;
    this.count++;
  }

  take(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    this.wakeOne();
    return item;
  }

  /** The first queued item that matches. */
  find(match: (item: T) => boolean): T | undefined {
    for (let i = 0; i < this.count; i++) {
      const item = this.items[(this.head + i) % this.items.length] as T;
      if (match(item)) return item;
    }
    return undefined;
  }

  /** Removes one specific item (an ask that timed out before it was taken). */
  remove(item: T): boolean {
    const all = this.drain();
    const index = all.indexOf(item);
    if (index >= 0) all.splice(index, 1);
    for (const other of all) this.offer(other);
    if (index >= 0) this.wakeOne();
    return index >= 0;
  }

  /** Empties the mailbox, returning what was in it, in order. */
  drain(): T[] {
    const out: T[] = [];
    while (this.count > 0) {
      out.push(this.items[this.head] as T);
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.items.length;
      this.count--;
    }
    this.head = 0;
    return out;
  }

  /** Registers a callback run once when space frees up (backpressure). Returns a canceller. */
  waitForSpace(wake: () => void): () => void {
    this.waiters ??= [];
    const waiters = this.waiters;
    waiters.push(wake);
    return () => {
      const i = waiters.indexOf(wake);
      if (i >= 0) waiters.splice(i, 1);
    };
  }

  /** Wakes every waiting sender (the agent stopped: they will find it gone). */
  wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = undefined;
    for (const wake of waiters ?? []) wake();
  }

  /** Wakes one waiting sender on a later microtask, never inside the taker's own call. */
  private wakeOne(): void {
    const wake = this.waiters?.shift();
    if (wake) queueMicrotask(wake);
  }

  private grow(): void {
    const next = new Array<T | undefined>(
      Math.max(this.count + 1, Math.min(this.capacity, Math.max(8, this.items.length * 2))),
    );
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
