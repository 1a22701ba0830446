/**
 * A message in an agent's mailbox. `ask` envelopes carry `settle`, called exactly once with the
 * reply or a typed failure; `tell` and `input` envelopes publish their outcome as events instead.
 */
import type { SpanContext } from "@opentelemetry/api";
import type { Exit } from "effect";
import type { JournalEntry } from "../durable/store.ts";
import type { AskError, Reply } from "../system.ts";

export interface Envelope {
  readonly kind: "ask" | "tell" | "input";
  readonly input: string;
  requestId?: string;
  /** The conversation thread the ask belongs to (its history is sent along, when the agent keeps one). */
  readonly thread?: string;
  /** The asker wants the answer as it is written: the step streams and publishes `agent.delta`. */
  readonly stream?: boolean;
  settle?: (exit: Exit.Exit<Reply, AskError>) => void;
  /** The asker gave up (timeout, interruption): skip it, or drop its reply. */
  cancelled?: boolean;
  /** How many incarnations crashed while processing it. */
  crashes?: number;
  /** Asking again with this key returns this task's reply instead of running it twice. */
  readonly idempotencyKey?: string;
  /** Durable trees: the task's durable id. */
  taskId?: string;
  /** Durable trees: the calls the task's step completed, replayed instead of made again after a restart. */
  journal?: ReadonlyArray<JournalEntry>;
  /**
   * The span that sent it (plain data), so the step it starts is a child span; only when tracing is
   * on. A task sent from outside any span gets its first step's span, so its retries join that trace.
   */
  trace?: SpanContext;
  /** The trace its step ran in, for the reply and the events about it; only when tracing is on. */
  traceId?: string;
}

/**
 * A task that crashed its agent this many times is not tried again: the asker gets a typed failure
 * and the restarted agent goes on with its mailbox (a poison message must not loop forever).
 */
export const maxTaskCrashes = 3;

let nextRequest = 0;

/** A short unique request id, made only when something needs to name the request. */
export const requestIdOf = (envelope: Envelope): string => {
  if (envelope.requestId === undefined) envelope.requestId = `rq_${(nextRequest++).toString(36)}`;
  return envelope.requestId;
};

/** Settles an envelope once; later calls are ignored so every request gets exactly one answer. */
export const settle = (envelope: Envelope, exit: Exit.Exit<Reply, AskError>): void => {
  const done = envelope.settle;
  if (!done) return;
  envelope.settle = undefined;
  if (!envelope.cancelled) done(exit);
};
