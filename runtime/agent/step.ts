/**
 * One agent step, sequenced: delegate to children (when the agent has children and no tools) →
 * guardrails on the input → what the agent recalls from memory (when its spec asks) → the model,
 * with tool calls, until it answers → guardrails on the output.
 * Tripwires watch tokens, tool calls and the step's wall time. The pieces live beside this file.
 */
import { Effect } from "effect";
import { type StepJournal, stepJournal } from "../durable/journal.ts";
import { checkNow } from "../guardrail.ts";
import type { ChatMessage, Usage } from "../model.ts";
import type { AskError } from "../system.ts";
import { observeNow } from "../tripwire.ts";
import type { AgentCell } from "./cell.ts";
import { delegateToChildren } from "./delegate.ts";
import { makeDeltaWriter } from "./deltas.ts";
import { type Envelope, requestIdOf } from "./envelope.ts";
import { recallForStep } from "./recall-step.ts";
import { threadHistory } from "./thread-history.ts";
import { destinationOf, journaled, runModelWithTools } from "./tool-loop.ts";

/** What a successful step produces. `exit` asks for a normal exit after replying. */
export interface StepResult {
  readonly output: string;
  readonly usage: Usage;
  readonly exit?: string;
}

const addUsage = (a: Usage, b: Usage): Usage => ({
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
});

/** The agent's system prompt from its spec: its role, then its instructions ("" when it has neither). */
const systemPromptOf = (spec: { readonly role?: string; readonly instructions?: string }): string => {
  const role = spec.role ? `You are the ${spec.role}.` : "";
  const instructions = spec.instructions ?? "";
  return role.length > 0 && instructions.length > 0 ? `${role}\n${instructions}` : role || instructions;
};

export const step = (cell: AgentCell, envelope: Envelope): Effect.Effect<StepResult, AskError> => {
  const { services, durable } = cell.tree;
  const info = cell.info;
  // A durable tree journals the step's calls; a resumed task replays what was journaled.
  const journal: StepJournal | undefined = durable && stepJournal(durable, cell, envelope);
  const body = Effect.gen(function* () {
    const visibleTools = services.tools().visible(info);
    // "No other instruction": an agent whose own spec configures no tools (or leaves it none)
    // delegates to its children; one given tools lets its model choose (send_to_agent, handoff, …).
    const delegates = cell.agent.spec.tools === undefined || visibleTools.length === 0;
    const delegated =
      delegates && cell.children.length > 0
        ? yield* journaled(journal, "delegate", delegateToChildren(cell, envelope.input))
        : undefined;
    const task = delegated ? `${envelope.input}\n\n${delegated.summary}` : envelope.input;
    const destination = destinationOf(cell.agent.model);
    // Checked on the spot when every guardrail answers synchronously (`checkNow`): no effect to run.
    const checkedInput = checkNow(services.guardrails(), {
      stage: "input",
      text: task,
      agent: info,
      destination,
    });
    const input = typeof checkedInput === "string" ? checkedInput : yield* checkedInput;
    const messages: ChatMessage[] = [];
    const system = systemPromptOf(cell.agent.spec);
    // The system prompt leaves the machine too: it passes the same guardrails as the task.
    if (system.length > 0) {
      const checked = checkNow(services.guardrails(), {
        stage: "input",
        text: system,
        agent: info,
        destination,
      });
      messages.push({ role: "system", content: typeof checked === "string" ? checked : yield* checked });
    }
    const recalled = yield* recallForStep(cell, envelope.input, destination);
    if (recalled !== undefined) messages.push({ role: "system", content: recalled });
    if (envelope.thread !== undefined)
      messages.push(...(yield* threadHistory(cell, envelope.thread, destination)));
    messages.push({ role: "user", content: input });
    const requestId = requestIdOf(envelope);
    const deltas = envelope.stream ? makeDeltaWriter(cell, requestId) : undefined;
    const answer = yield* runModelWithTools(cell, messages, delegated ? [] : visibleTools, {
      requestId,
      deltas,
      journal,
    });
    const checkedOutput = checkNow(services.guardrails(), {
      stage: "output",
      text: answer.text,
      agent: info,
      destination: "local",
    });
    const guarded = typeof checkedOutput === "string" ? checkedOutput : yield* checkedOutput;
    const output = deltas ? yield* deltas.finish(guarded) : guarded;
    const tripped = observeNow(services.tripwires(), {
      metric: "output",
      value: output.length,
      text: output,
      agent: info,
    });
    if (tripped !== undefined) yield* tripped;
    return { output, usage: delegated ? addUsage(answer.usage, delegated.usage) : answer.usage };
  });
  return services.tripwires().guardStep(info, body);
};
