/**
 * The one router: every message between agents, and from outside, is delivered by address
 * (`/<tree>/<name>/…`) or id through it, into the target's bounded mailbox. A message that a full
 * mailbox drops or refuses is counted and evented, never silently lost.
 *
 * Tenancy: every lookup may name the caller's tenant (`within`). An agent of another tenant is then
 * exactly an agent that does not exist (the same `agent_not_found`), so a tenant's agents and tools
 * can neither reach nor probe another tenant's. Without `within` (the operator) every agent resolves.
 */
import type { SpanContext } from "@opentelemetry/api";
import { Effect, Exit } from "effect";
import type { Envelope } from "./agent/envelope.ts";
import type { Mailbox } from "./agent/mailbox.ts";
import type { Counters } from "./counters.ts";
import { MailboxFull, NotFound } from "./errors.ts";
import type { EventBus } from "./events.ts";
import type { AskError, Reply } from "./system.ts";
import { currentTraceParent, tracingActive } from "./tracing.ts";

/** Anything the router can deliver to: an agent cell. */
export interface Routable {
  readonly address: string;
  readonly id: string;
  readonly treeId: string;
  /** The agent's tree: its owner (tenancy) and the counters its traffic counts in. */
  readonly tree: { readonly tenant?: string; readonly counters: Counters };
  readonly mailbox: Mailbox<Envelope>;
  /** True when `deliver` would process the message synchronously (handler micro agent, nothing queued). */
  readonly answersInline: () => boolean;
  /** `full` when the mailbox is at capacity; `gone` when the agent has stopped for good. */
  readonly deliver: (envelope: Envelope) => "ok" | "full" | "gone";
  /** The asker gave up on `envelope`: drop it if queued, interrupt its step if in flight. */
  readonly withdraw: (envelope: Envelope) => void;
}

type Offered = "ok" | "dropped" | MailboxFull | NotFound;

/** What an ask may say about itself besides its input. */
export interface AskRequest {
  /** The asker's id for the request (for `agent.cancel`); made up when absent. */
  readonly requestId?: string;
  /** The conversation thread. */
  readonly thread?: string;
  /** Asking again with this key joins or returns this ask (see durable/idempotency.ts). */
  readonly idempotencyKey?: string;
  /** Stream the answer (`agent.delta` events with the request id). */
  readonly stream?: boolean;
  /** The span the ask comes from; by default the span in scope, when tracing is on. */
  readonly trace?: SpanContext;
}

/** The tenant a lookup is made for; undefined = the operator, who reaches every agent. */
export type Within = string | undefined;

const noop = (): void => {};

/**
 * The answer to a callback-style request as an Effect: `start` sends it, with `done` to call once
 * with the answer, and returns its withdrawal. An answer given while `start` runs (a zero-latency
 * agent answers at once) is returned as it is, so the asking fiber goes on without suspending (an
 * `Effect.async` resumed at once still suspends its fiber and resumes it on the scheduler); a later
 * one resumes the suspended fiber, and interrupting that fiber withdraws the request.
 */
export const answered = <A, E>(
  start: (done: (exit: Exit.Exit<A, E>) => void) => () => void,
): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    let answer: Exit.Exit<A, E> | undefined;
    let resume: ((exit: Exit.Exit<A, E>) => void) | undefined;
    const withdraw = start((exit) => {
      if (resume !== undefined) resume(exit);
      else answer = exit;
    });
    if (answer !== undefined) return answer;
    return Effect.async<A, E>((callback) => {
      if (answer !== undefined) callback(answer);
      else resume = callback;
      return Effect.sync(withdraw);
    });
  });

export class Router {
  private readonly table = new Map<string, Routable>();

  constructor(private readonly events: EventBus) {}

  /** The target named `to`, if it exists and the caller (`within`) may see it. */
  private find(to: string, within: Within): Routable | undefined {
    const target = this.table.get(to);
    if (target === undefined || within === undefined || target.tree.tenant === within) return target;
    return undefined;
  }

  register(target: Routable): void {
    this.table.set(target.address, target);
    this.table.set(target.id, target);
  }

  unregister(target: Routable): void {
    if (this.table.get(target.address) === target) this.table.delete(target.address);
    if (this.table.get(target.id) === target) this.table.delete(target.id);
  }

  resolve(to: string, within?: Within): Routable | undefined {
    return this.find(to, within);
  }

  /**
   * Fire and forget, synchronously: the hot path. Returns `full` instead of waiting when a
   * backpressure mailbox is full (use `send` to wait).
   */
  tell(to: string, message: string, within?: Within): "ok" | "not_found" | "full" | "dropped" {
    const target = this.find(to, within);
    if (target === undefined) return "not_found";
    const envelope: Envelope = { kind: "tell", input: message };
    const delivered = target.deliver(envelope);
    if (delivered === "ok") {
      target.tree.counters.messagesRouted++;
      return "ok";
    }
    if (delivered === "gone") return "not_found";
    if (target.mailbox.overflow === "backpressure") return "full";
    this.refused(target, envelope);
    return "dropped";
  }

  /** Fire and forget; waits for space when the target applies backpressure. */
  send(to: string, message: string, within?: Within): Effect.Effect<void, NotFound | MailboxFull> {
    // Like `ask`, the message carries the sender's span when tracing is on (a handoff without await).
    if (tracingActive())
      return Effect.flatMap(currentTraceParent, (trace) => this.deliverSend(to, message, within, trace));
    return this.deliverSend(to, message, within, undefined);
  }

  private deliverSend(
    to: string,
    message: string,
    within: Within,
    trace: SpanContext | undefined,
  ): Effect.Effect<void, NotFound | MailboxFull> {
    return Effect.async<void, NotFound | MailboxFull>((resume) => {
      const envelope: Envelope = { kind: "tell", input: message, ...(trace !== undefined ? { trace } : {}) };
      const cancel = this.offer(to, this.find(to, within), envelope, (offered) => {
        if (offered === "ok" || offered === "dropped") resume(Effect.void);
        else resume(Effect.fail(offered));
      });
      return Effect.sync(cancel);
    });
  }

  /**
   * The synchronous fast path of `ask`: when the target answers inline (a handler micro agent with an
   * empty mailbox), delivers at once and returns `{ now }` with the reply — or `{ later }` to wait
   * on when the handler crashed and the task waits for the restarted agent. Returns undefined, having
   * delivered nothing, when the target does not answer inline: take the asynchronous path.
   */
  askNow(
    to: string,
    input: string,
    within?: Within,
  ):
    | { readonly now: Exit.Exit<Reply, AskError> }
    | { readonly later: Effect.Effect<Reply, AskError> }
    | undefined {
    const target = this.find(to, within);
    if (target === undefined || !target.answersInline()) return undefined;
    let answer: Exit.Exit<Reply, AskError> | undefined;
    let resume: ((exit: Exit.Exit<Reply, AskError>) => void) | undefined;
    const envelope: Envelope = {
      kind: "ask",
      input,
      settle: (exit) => {
        if (resume) resume(exit);
        else answer = exit;
      },
    };
    if (target.deliver(envelope) !== "ok") return undefined;
    target.tree.counters.messagesRouted++;
    if (answer !== undefined) return { now: answer };
    return {
      later: Effect.async<Reply, AskError>((callback) => {
        resume = callback;
        return Effect.sync(() => target.withdraw(envelope));
      }),
    };
  }

  /**
   * Request and reply: exactly one reply or one typed failure. Interrupting it withdraws the
   * request: a queued task is dropped, a task in flight has its step interrupted.
   */
  ask(to: string, input: string, within?: Within, request: AskRequest = {}): Effect.Effect<Reply, AskError> {
    // The task carries the asker's span, so the step it starts is a child span (a delegated task
    // nests under its delegator's step).
    if (request.trace === undefined && tracingActive())
      return Effect.flatMap(currentTraceParent, (trace) =>
        this.deliverAsk(to, input, within, trace !== undefined ? { ...request, trace } : request),
      );
    return this.deliverAsk(to, input, within, request);
  }

  private deliverAsk(
    to: string,
    input: string,
    within: Within,
    request: AskRequest,
  ): Effect.Effect<Reply, AskError> {
    return answered((done) => this.askWith(to, input, within, request, done));
  }

  /**
   * `ask` for callers outside Effect (the Promise API), with no fiber of its own: `done` is called
   * once, with the reply or a typed failure. Returns the withdrawal (what interrupting `ask` does).
   * Gotcha: the task carries `request.trace` only; no span is looked up.
   */
  askWith(
    to: string,
    input: string,
    within: Within,
    request: AskRequest,
    done: (exit: Exit.Exit<Reply, AskError>) => void,
  ): () => void {
    // A plain ask (the delegation path) is one small object; optional fields only when given.
    const plain =
      request.requestId === undefined &&
      request.thread === undefined &&
      request.idempotencyKey === undefined &&
      !request.stream &&
      request.trace === undefined;
    const envelope: Envelope = plain
      ? { kind: "ask", input, settle: done }
      : {
          kind: "ask",
          input,
          settle: done,
          ...(request.requestId !== undefined ? { requestId: request.requestId } : {}),
          ...(request.thread !== undefined ? { thread: request.thread } : {}),
          ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
          ...(request.stream ? { stream: true } : {}),
          ...(request.trace !== undefined ? { trace: request.trace } : {}),
        };
    const target = this.find(to, within);
    if (target === undefined) {
      done(Exit.fail(new NotFound({ reason: "agent_not_found", target: to })));
      return noop;
    }
    const cancel = this.offer(to, target, envelope, (offered) => {
      if (offered === "dropped") done(Exit.fail(this.fullError(target, "drop-newest")));
      else if (offered !== "ok") done(Exit.fail(offered));
    });
    return () => {
      cancel();
      envelope.cancelled = true;
      target.withdraw(envelope);
    };
  }

  /**
   * Delivers to `target` (what `to` resolved to, if anything) with its overflow policy; calls `done`
   * once. Returns a canceller for a waiting sender (a no-op when nothing waits).
   */
  private offer(
    to: string,
    target: Routable | undefined,
    envelope: Envelope,
    done: (offered: Offered) => void,
  ): () => void {
    if (target === undefined) {
      done(new NotFound({ reason: "agent_not_found", target: to }));
      return noop;
    }
    // The common case first, without a closure: delivered at once.
    const delivered = target.deliver(envelope);
    if (delivered === "ok") {
      target.tree.counters.messagesRouted++;
      done("ok");
      return noop;
    }
    let cancelWait: (() => void) | undefined;
    const settleOffer = (result: "ok" | "full" | "gone"): void => {
      cancelWait = undefined;
      if (result === "ok") {
        target.tree.counters.messagesRouted++;
        done("ok");
      } else if (result === "gone") {
        done(new NotFound({ reason: "agent_not_found", target: to }));
      } else if (target.mailbox.overflow === "backpressure") {
        cancelWait = target.mailbox.waitForSpace(() => settleOffer(target.deliver(envelope)));
      } else {
        const policy = target.mailbox.overflow;
        this.refused(target, envelope);
        done(
          policy === "drop-newest" && envelope.kind !== "ask" ? "dropped" : this.fullError(target, policy),
        );
      }
    };
    settleOffer(delivered);
    return () => cancelWait?.();
  }

  private fullError(target: Routable, policy: "fail" | "drop-newest"): MailboxFull {
    return new MailboxFull({
      reason: "mailbox_full",
      address: target.address,
      capacity: target.mailbox.capacity,
      policy,
    });
  }

  private refused(target: Routable, envelope: Envelope): void {
    const policy = target.mailbox.overflow === "drop-newest" ? "drop-newest" : "fail";
    target.mailbox.dropped++;
    target.tree.counters.messagesDropped++;
    this.events.publishSync({
      type: "message.dropped",
      tree: target.treeId,
      address: target.address,
      id: target.id,
      reason: `mailbox full (capacity ${target.mailbox.capacity}); ${envelope.kind} ${policy === "fail" ? "refused" : "dropped"}`,
      policy,
      capacity: target.mailbox.capacity,
    });
  }
}
