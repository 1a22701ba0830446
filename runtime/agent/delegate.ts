/**
 * The default behaviour of an agent with children: send the task to every child in parallel, wait
 * for all replies, and hand them to the agent's own model step (fan-out, then summarize).
 */
import type { SpanContext } from "@opentelemetry/api";
import { Effect, Exit } from "effect";
import type { Usage } from "../model.ts";
import { answered } from "../router.ts";
import type { AskError, Reply } from "../system.ts";
import { currentTraceParent, tracingActive, withSpan } from "../tracing.ts";
import type { AgentCell } from "./cell.ts";

export interface Delegated {
  readonly summary: string;
  readonly usage: Usage;
}

/**
 * Asks every child at once through the router's callback form (`askWith`: no fiber per child): what
 * they replied, in order, or the first failure, after which the other asks are withdrawn, as they
 * all are when the step is interrupted. Like `ask`, each task carries the current span when tracing is on.
 */
const askAll = (
  cell: AgentCell,
  children: ReadonlyArray<AgentCell>,
  task: string,
): Effect.Effect<Delegated, AskError> =>
  tracingActive()
    ? Effect.flatMap(currentTraceParent, (trace) => askAllWith(cell, children, task, trace))
    : askAllWith(cell, children, task, undefined);

const noRequest = {};

/** What the team replied, as the agent's model reads it, and their usage summed. */
const delegatedOf = (children: ReadonlyArray<AgentCell>, replies: ReadonlyArray<Reply>): Delegated => {
  let summary = "Replies from your team:";
  let inputTokens = 0;
  let outputTokens = 0;
  for (let i = 0; i < replies.length; i++) {
    const reply = replies[i]!;
    summary += `\n[${children[i]!.agent.name}] ${reply.output}`;
    inputTokens += reply.usage.inputTokens;
    outputTokens += reply.usage.outputTokens;
  }
  return { summary, usage: { inputTokens, outputTokens } };
};

const askAllWith = (
  cell: AgentCell,
  children: ReadonlyArray<AgentCell>,
  task: string,
  trace: SpanContext | undefined,
): Effect.Effect<Delegated, AskError> =>
  answered<Delegated, AskError>((done) => {
    const replies = new Array<Reply>(children.length);
    const withdrawals = new Array<() => void>(children.length);
    let waiting = children.length;
    let settled = false;
    const withdrawAll = () => {
      for (const withdraw of withdrawals) withdraw?.();
    };
    const request = trace !== undefined ? { trace } : noRequest;
    for (let i = 0; i < children.length && !settled; i++) {
      withdrawals[i] = cell.tree.router.askWith(children[i]!.address, task, undefined, request, (exit) => {
        if (settled) return;
        if (Exit.isSuccess(exit)) {
          replies[i] = exit.value;
          if (--waiting > 0) return;
          settled = true;
          done(Exit.succeed(delegatedOf(children, replies)));
        } else {
          settled = true;
          withdrawAll();
          done(Exit.failCause(exit.cause));
        }
      });
    }
    if (children.length === 0) {
      settled = true;
      done(Exit.succeed(delegatedOf(children, replies)));
    }
    return () => {
      if (settled) return;
      settled = true;
      withdrawAll();
    };
  });

/** The children still alive, in start order (the array itself when none has ended). */
const liveChildren = (cell: AgentCell): ReadonlyArray<AgentCell> => {
  const all = cell.children;
  for (const c of all) {
    if (c.status === "stopped" || c.status === "failed")
      return all.filter((c) => c.status !== "stopped" && c.status !== "failed");
  }
  return all;
};

/** Asks each child (in start order, concurrently); fails with the first child's failure. */
export const delegateToChildren = (cell: AgentCell, task: string): Effect.Effect<Delegated, AskError> => {
  const children = liveChildren(cell);
  const asked = askAll(cell, children, task);
  // Checked here, not per run: this is called as the step runs (a span only when tracing is on).
  if (!tracingActive()) return asked;
  return asked.pipe(
    withSpan("agent.delegate", () => ({
      "arbor.agent.address": cell.address,
      "arbor.delegate.children": children.length,
    })),
  );
};
