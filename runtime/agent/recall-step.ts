/**
 * The recall part of a step: an agent whose settings name `memory.recall` gets what its memory
 * holds about the task (facts and passages with citations) as a system message before the task.
 * The text leaves the machine with the model call, so it passes the input guardrails (PII redacted);
 * when a guardrail blocks it, or memory cannot answer, the step goes on without it and
 * `memory.recalled` says why.
 */
import { Effect } from "effect";
import type { AgentCell } from "./cell.ts";

const recallEnabled = (settings: Readonly<Record<string, unknown>>): boolean => {
  const memory = settings.memory as { readonly recall?: unknown } | undefined;
  return memory !== undefined && memory.recall !== undefined && memory.recall !== false;
};

const nothing = Effect.succeed(undefined);

/** The guarded memory text for this step, or undefined when the agent recalls nothing. */
export const recallForStep = (
  cell: AgentCell,
  task: string,
  destination: "local" | "network",
): Effect.Effect<string | undefined> =>
  recallEnabled(cell.info.settings) ? recallWith(cell, task, destination) : nothing;

const recallWith = (
  cell: AgentCell,
  task: string,
  destination: "local" | "network",
): Effect.Effect<string | undefined> =>
  Effect.gen(function* () {
    const info = cell.info;
    const { services, events } = cell.tree;
    const base = { tree: info.tree, address: info.address, id: info.id, type: "memory.recalled" as const };
    const recalled = yield* services.recall().recall(info, task);
    if (recalled === undefined) return undefined;
    if ("failed" in recalled) {
      events.publishSync({ ...base, facts: 0, passages: 0, reason: recalled.failed });
      return undefined;
    }
    const guarded = yield* services
      .guardrails()
      .check({ stage: "input", text: recalled.text, agent: info, destination })
      .pipe(
        Effect.map((text) => ({ text })),
        Effect.catchTag("GuardrailViolation", (e) => Effect.succeed({ blocked: e.message })),
      );
    if ("blocked" in guarded) {
      events.publishSync({ ...base, facts: 0, passages: 0, reason: `blocked: ${guarded.blocked}` });
      return undefined;
    }
    events.publishSync({ ...base, facts: recalled.facts, passages: recalled.passages });
    return guarded.text;
  });
