/**
 * Replies kept by idempotency key, per tree: asking an agent again with the key of a finished ask
 * returns its reply instead of running the task twice (a client that lost its connection, or a
 * server that restarted, asks again safely). A durable tree also writes them to its store, so they
 * outlive a restart. Only replies are kept: an ask that failed may be retried under the same key.
 * Gotcha: the book is bounded (`maxAnswers` per tree, oldest forgotten first).
 */
import type { Reply } from "../system.ts";
import type { DurableTree } from "./durable-tree.ts";
import type { StoredAnswer } from "./store.ts";

/** How many replies a tree keeps by key. */
export const maxAnswers = 10_000;

const slot = (address: string, key: string) => `${address}\u0000${key}`;

/** A stored reply read back: only a well-formed one is used. */
const isReply = (u: unknown): u is Reply =>
  typeof u === "object" &&
  u !== null &&
  typeof (u as Reply).output === "string" &&
  typeof (u as Reply).usage?.inputTokens === "number" &&
  typeof (u as Reply).usage?.outputTokens === "number";

export class AnswerBook {
  private readonly replies = new Map<string, Reply>();

  constructor(
    private readonly now: () => number,
    private readonly durable?: DurableTree,
  ) {}

  get(address: string, key: string): Reply | undefined {
    return this.replies.get(slot(address, key));
  }

  /** Keeps `reply` for `key` (the first reply wins). */
  record(address: string, key: string, reply: Reply): void {
    const at = slot(address, key);
    if (this.replies.has(at)) return;
    this.restore(address, key, reply);
    this.durable?.answer({ address, key, reply, at: this.now() });
  }

  /** Puts back the replies read from the durable store (a malformed one is left out). */
  restoreStored(answers: ReadonlyArray<StoredAnswer>): void {
    for (const { address, key, reply } of answers) if (isReply(reply)) this.restore(address, key, reply);
  }

  private restore(address: string, key: string, reply: Reply): void {
    this.replies.set(slot(address, key), reply);
    if (this.replies.size > maxAnswers) this.replies.delete(this.replies.keys().next().value!);
  }
}
