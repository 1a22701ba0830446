/**
 * The default behaviour of an agent with children: send the task to every child in parallel, wait
 * for all replies, and hand them to the agent's own model step (fan-out, then summarize).
 */
import { Effect } from "effect";
import type { Usage } from "../model.ts";
import type { AskError } from "../system.ts";
import { withSpan } from "../tracing.ts";
import type { AgentCell } from "./cell.ts";

export interface Delegated {
  readonly summary: string;
  readonly usage: Usage;
}

/** Asks each child (in start order, concurrently); fails with the first child's failure. */
export const delegateToChildren = (cell: AgentCell, task: string): Effect.Effect<Delegated, AskError> => {
  const children = cell.children.filter((c) => c.status !== "stopped" && c.status !== "failed");
  return Effect.forEach(children, (child) => cell.tree.router.ask(child.address, task), {
    concurrency: "unbounded",
  }).pipe(
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
