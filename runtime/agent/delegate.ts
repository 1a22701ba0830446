/**
 * The default behaviour of an agent with children: send the task to every child in parallel, wait
 * for all replies, and hand them to the agent's own model step (fan-out, then summarize).
 */
import type { SpanContext } from "@opentelemetry/api";
import { Effect, Exit } from "effect";
import type { Usage } from "../model.ts";
import type { AskError, Reply } from "../system.ts";
import { currentTraceParent, tracingActive, withSpan } from "../tracing.ts";
import type { AgentCell } from "./cell.ts";

export interface Delegated {
  readonly summary: string;
  readonly usage: Usage;
}

/**
 * Asks every child at once through the router's callback form (`askWith`: no fiber per child): the
 * replies in order, or the first failure, after which the other asks are withdrawn, as they all are
 * when the step is interrupted. Like `ask`, each task carries the current span when tracing is on.
 */
const askAll = (
  cell: AgentCell,
  children: ReadonlyArray<AgentCell>,
  task: string,
): Effect.Effect<ReadonlyArray<Reply>, AskError> =>
  tracingActive()
    ? Effect.flatMap(currentTraceParent, (trace) => askAllWith(cell, children, task, trace))
    : askAllWith(cell, children, task, undefined);

const askAllWith = (
  cell: AgentCell,
  children: ReadonlyArray<AgentCell>,
  task: string,
  trace: SpanContext | undefined,
): Effect.Effect<ReadonlyArray<Reply>, AskError> =>
  Effect.async<ReadonlyArray<Reply>, AskError>((resume) => {
    const replies = new Array<Reply>(children.length);
    const withdrawals: Array<() => void> = [];
    let waiting = children.length;
    let settled = false;
    const withdrawAll = () => {
      for (const withdraw of withdrawals) withdraw();
    };
    const request = trace !== undefined ? { trace } : {};
    for (let i = 0; i < children.length && !settled; i++) {
      const withdraw = cell.tree.router.askWith(children[i]!.address, task, undefined, request, (exit) => {
        if (settled) return;
        if (Exit.isSuccess(exit)) {
          replies[i] = exit.value;
          if (--waiting > 0) return;
          settled = true;
          resume(Effect.succeed(replies));
        } else {
          settled = true;
          withdrawAll();
          resume(Exit.failCause(exit.cause));
        }
      });
      withdrawals.push(withdraw);
    }
    if (children.length === 0) resume(Effect.succeed(replies));
    return Effect.sync(() => {
      if (settled) return;
      settled = true;
      withdrawAll();
    });
  });

/** Asks each child (in start order, concurrently); fails with the first child's failure. */
export const delegateToChildren = (cell: AgentCell, task: string): Effect.Effect<Delegated, AskError> => {
  const children = cell.children.filter((c) => c.status !== "stopped" && c.status !== "failed");
  return askAll(cell, children, task).pipe(
    Effect.map((replies) => ({
      summary: `Replies from your team:\n${replies.map((r, i) => `[${children[i]!.agent.name}] ${r.output}`).join("\n")}`,
      usage: replies.reduce(
        (sum, r) => ({
          inputTokens: sum.inputTokens + r.usage.inputTokens,
          outputTokens: sum.outputTokens + r.usage.outputTokens,
        }),
        { inputTokens: 0, outputTokens: 0 },
      ),
    })),
    withSpan("agent.delegate", () => ({
      "arbor.agent.address": cell.address,
      "arbor.delegate.children": children.length,
    })),
  );
};
