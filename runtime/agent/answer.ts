/**
 * Answering the asker of a task, once: the reply or typed failure of a finished step, or the
 * failure of a task given up on after it crashed the agent too often. Each answer is evented.
 */
import { Exit } from "effect";
import { AgentFailed, type Fault } from "../errors.ts";
import { type Envelope, requestIdOf, settle } from "./envelope.ts";
import type { TreeHost } from "./host.ts";
import type { LifecycleEvent } from "./lifecycle.ts";
import type { StepOutcome } from "./step-outcome.ts";

/** Who answers: the agent's tree and its names. */
export interface Answering {
  readonly tree: TreeHost;
  readonly treeId: string;
  readonly address: string;
  readonly id: string;
}

/** A step that ended without crashing. */
export type Finished = Exclude<StepOutcome, { readonly _tag: "Crashed" }>;

/** The statechart event for a finished step: a reply on a thread is remembered. */
export const stepDone = (envelope: Envelope, outcome: Finished): LifecycleEvent =>
  outcome._tag === "Replied" && envelope.thread !== undefined
    ? {
        type: "STEP_DONE",
        exchange: {
          thread: envelope.thread,
          messages: [
            { role: "user", content: envelope.input },
            { role: "assistant", content: outcome.reply.output },
          ],
        },
      }
    : { type: "STEP_DONE" };

/** Settles the asker with the step's outcome and publishes it; a tripwire's stop-tree stops the tree. */
export const answerTask = (agent: Answering, envelope: Envelope, outcome: Finished): void => {
  const { events } = agent.tree;
  if (outcome._tag === "Replied") {
    if (envelope.idempotencyKey !== undefined)
      agent.tree.answers.record(agent.address, envelope.idempotencyKey, outcome.reply);
    settle(envelope, Exit.succeed(outcome.reply));
    // Built only when someone listens: most replies are read by their asker alone.
    if (events.wants("agent.replied"))
      events.publishSync({
        ...answered(agent, envelope),
        type: "agent.replied",
        output: outcome.reply.output,
      });
    return;
  }
  if (outcome._tag === "Failed") agent.tree.counters.errors++;
  settle(envelope, Exit.fail(outcome.error));
  events.publishSync({
    ...answered(agent, envelope),
    type: "agent.request_failed",
    reason: outcome.error.message,
  });
  if (outcome._tag === "StopTree") agent.tree.stopTree(outcome.error.message);
};

/** What every answer's event says about who answered which request. */
const answered = (agent: Answering, envelope: Envelope) => ({
  tree: agent.treeId,
  address: agent.address,
  id: agent.id,
  requestId: requestIdOf(envelope),
  ...(envelope.traceId !== undefined ? { traceId: envelope.traceId } : {}),
});

/** A task that crashed the agent `crashes` times is not tried again: its asker gets `AgentFailed`. */
export const giveUpOnTask = (agent: Answering, envelope: Envelope, lastCrash: string, blame: Fault): void => {
  const detail = `the task crashed the agent ${envelope.crashes ?? 0} times (last: ${lastCrash}); it is not tried again`;
  settle(envelope, Exit.fail(new AgentFailed({ reason: "crashed", address: agent.address, detail, blame })));
  agent.tree.events.publishSync({
    type: "agent.request_failed",
    tree: agent.treeId,
    address: agent.address,
    id: agent.id,
    requestId: requestIdOf(envelope),
    reason: detail,
  });
};
