/**
 * The model ↔ tools loop of one step: call the model; if it asks for tools, check each call with the
 * guardrails, run it through the tool registry (which always returns exactly one result per call),
 * give the results back, and call the model again, up to `maxToolRounds`.
 */
import { Effect } from "effect";
import type { StepJournal } from "../durable/journal.ts";
import type { JournalEntry } from "../durable/store.ts";
import { NotAllowed } from "../errors.ts";
import type { ChatMessage, ModelChoice, ModelRequest, ModelResponse, ToolSpec, Usage } from "../model.ts";
import { pausingStepClock } from "../step-clock.ts";
import type { AskError } from "../system.ts";
import type { ApprovalAsk, ToolContext } from "../tool.ts";
import { observeNow } from "../tripwire.ts";
import type { AgentCell } from "./cell.ts";
import type { DeltaWriter } from "./deltas.ts";
import { agentOps } from "./ops.ts";
import { streamedResponse } from "./streamed.ts";

/** The task a step works on: its request id (approval ids derive from it) and, when streaming, its delta writer. */
export interface StepTask {
  readonly requestId: string;
  readonly deltas?: DeltaWriter;
  /** Set on a durable tree: the step's calls are journaled, and replayed when the task resumes. */
  readonly journal?: StepJournal;
}

export interface ModelAnswer {
  readonly text: string;
  readonly usage: Usage;
}

/** Where an agent's texts go when its model is called: only the offline scripted provider stays local. */
export const destinationOf = (choice: ModelChoice | undefined): "local" | "network" =>
  choice?.provider === "scripted" ? "local" : "network";

/** `call` through the step's journal when the tree is durable (replayed if journaled), else directly. */
export const journaled = <A, E>(
  journal: StepJournal | undefined,
  kind: JournalEntry["kind"],
  call: Effect.Effect<A, E>,
): Effect.Effect<A, E> => (journal === undefined ? call : journal.once(kind, call));

/**
 * How call `callIndex` of a step asks a person: through the tree's approvals, with the step clock
 * paused while it waits (the `maxStepMs` tripwire does not count the wait). On a durable tree the
 * approvals store has the pending approval, then its decision, written with the agent's state.
 */
const approver = (cell: AgentCell, requestId: string, callIndex: number) => (ask: ApprovalAsk) =>
  pausingStepClock(
    cell.tree.approvals.await(
      {
        ...(cell.tree.tenant !== undefined ? { tenant: cell.tree.tenant } : {}),
        tree: cell.treeId,
        address: cell.address,
        agentId: cell.id,
        tool: ask.tool,
        args: ask.args,
        displayArgs: ask.displayArgs,
        requestId,
        callIndex,
      },
      ask.validate,
    ),
  );

/** Calls the model (streaming when the task has a delta writer), runs its tool calls, and repeats until it answers. */
export const runModelWithTools = (
  cell: AgentCell,
  initial: ReadonlyArray<ChatMessage>,
  tools: ReadonlyArray<ToolSpec>,
  task: StepTask,
): Effect.Effect<ModelAnswer, AskError> =>
  Effect.gen(function* () {
    const { services, counters } = cell.tree;
    const info = cell.info;
    const choice = cell.agent.model;
    if (!choice) {
      return yield* new NotAllowed({
        reason: "kind",
        address: cell.address,
        detail: "this agent has no model",
      });
    }
    const destination = destinationOf(choice);
    const messages = [...initial];
    const usage = { inputTokens: 0, outputTokens: 0 };
    let toolCalls = 0;
    // One request for every round: `messages` grows as the rounds go (as it always has: the array
    // is shared), and nothing else in it changes within a step.
    // Assigned in a fixed order rather than spread: one shape for every request, no temporaries.
    const building: { -readonly [K in keyof ModelRequest]?: ModelRequest[K] } = { messages };
    if (tools.length > 0) building.tools = tools;
    if (choice.temperature !== undefined) building.temperature = choice.temperature;
    if (choice.maxTokens !== undefined) building.maxTokens = choice.maxTokens;
    building.context = cell.requestContext;
    const request = building as Omit<ModelRequest, "model" | "options">;
    // Streaming: the reply is everything the model wrote, over all rounds (what the client saw).
    let written = "";
    for (let round = 0; round <= cell.agent.maxToolRounds; round++) {
      const response: ModelResponse = yield* journaled(
        task.journal,
        "model",
        task.deltas === undefined
          ? services.models().generate(choice, request)
          : streamedResponse(services.models().stream(choice, request), task.deltas),
      );
      written += response.text;
      usage.inputTokens += response.usage.inputTokens;
      usage.outputTokens += response.usage.outputTokens;
      counters.providerCalls++;
      counters.tokens += response.usage.inputTokens + response.usage.outputTokens;
      // Measured on the spot (`observeNow`): an effect to run only when a tripwire fired.
      const overTokens = observeNow(services.tripwires(), {
        metric: "tokens",
        value: response.usage.inputTokens + response.usage.outputTokens,
        agent: info,
      });
      if (overTokens !== undefined) yield* overTokens;
      if (response.costUsd !== undefined) {
        const overCost = observeNow(services.tripwires(), {
          metric: "costUsd",
          value: response.costUsd,
          agent: info,
        });
        if (overCost !== undefined) yield* overCost;
      }
      if (response.toolCalls.length === 0)
        return { text: task.deltas === undefined ? response.text : written, usage };
      messages.push({ role: "assistant", content: response.text, toolCalls: response.toolCalls });
      // The tool runner checks arguments and results with the tool-stage guardrails.
      for (const call of response.toolCalls) {
        const ctx: ToolContext = {
          agent: info,
          ops: agentOps(cell),
          destination,
          approve: approver(cell, task.requestId, toolCalls++),
        };
        const result = yield* journaled(task.journal, "tool", services.tools().call(call, ctx));
        messages.push({ role: "tool", toolCallId: call.id, name: call.name, content: result.content });
      }
      const overCalls = observeNow(services.tripwires(), {
        metric: "toolCalls",
        value: toolCalls,
        agent: info,
      });
      if (overCalls !== undefined) yield* overCalls;
    }
    return yield* new NotAllowed({
      reason: "limit",
      address: cell.address,
      detail: `the model kept calling tools after ${cell.agent.maxToolRounds} rounds (raise maxToolRounds if that is expected)`,
    });
  });
