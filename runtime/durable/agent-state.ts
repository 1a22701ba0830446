/**
 * An agent's durable state made from its live parts, and tasks back from it: the mapping between
 * mailbox envelopes (which carry askers' callbacks) and the plain data a durable tree stores.
 */
import type { Envelope } from "../agent/envelope.ts";
import type { ApprovalEntry } from "../approvals.ts";
import { taskIdOf } from "./journal.ts";
import { type AgentState, type DurableTask, durableFormat } from "./state.ts";

/** How many approvals an agent's state keeps at most (the latest). */
export const maxKeptApprovals = 200;

/** A task as data (its durable id is made when first needed). */
export const taskOf = (envelope: Envelope): DurableTask => ({
  kind: envelope.kind,
  input: envelope.input,
  taskId: taskIdOf(envelope),
  ...(envelope.requestId !== undefined ? { requestId: envelope.requestId } : {}),
  ...(envelope.thread !== undefined ? { thread: envelope.thread } : {}),
  ...(envelope.idempotencyKey !== undefined ? { idempotencyKey: envelope.idempotencyKey } : {}),
});

/** A durable task back as an envelope: no asker waits on it (an asker comes back by idempotency key). */
export const envelopeOf = (task: DurableTask): Envelope => ({
  kind: task.kind,
  input: task.input,
  taskId: task.taskId,
  ...(task.requestId !== undefined ? { requestId: task.requestId } : {}),
  ...(task.thread !== undefined ? { thread: task.thread } : {}),
  ...(task.idempotencyKey !== undefined ? { idempotencyKey: task.idempotencyKey } : {}),
  ...(task.journal !== undefined && task.journal.length > 0 ? { journal: task.journal } : {}),
});

/** The live parts of an agent its durable state is made of. */
export interface AgentParts {
  readonly address: string;
  /** XState's persisted snapshot of the agent's statechart. */
  readonly lifecycle: unknown;
  readonly restarts: number;
  readonly inFlight: Envelope | undefined;
  /** The mailbox, in order. */
  readonly queued: ReadonlyArray<Envelope>;
  /** Every approval of the runtime (those of the task in flight are kept). */
  readonly approvals: ReadonlyArray<ApprovalEntry>;
  /** A runtime-spawned agent: its parent and spec. */
  readonly dynamic?: { readonly parent: string; readonly spec: unknown };
  /** A handler micro agent: its handler's state as JSON data. */
  readonly handler?: { readonly saved: unknown };
}

/**
 * The agent's state as plain data: its statechart's snapshot (state, incarnation, thread
 * histories), restart count, the task in flight with its journal and approvals, the queued tasks.
 */
export const agentStateOf = (parts: AgentParts): AgentState => {
  const inFlight = parts.inFlight !== undefined && !parts.inFlight.cancelled ? parts.inFlight : undefined;
  // The approvals of the task in flight, and those asked on this agent's behalf outside a step
  // (a workflow's approval steps), the latest `maxKeptApprovals`.
  const approvals = parts.approvals
    .filter(
      (e) =>
        e.address === parts.address &&
        (e.detached === true || (inFlight !== undefined && e.requestId === inFlight.requestId)),
    )
    .slice(-maxKeptApprovals);
  return {
    format: durableFormat,
    lifecycle: parts.lifecycle as AgentState["lifecycle"],
    restarts: parts.restarts,
    ...(inFlight
      ? { inFlight: { ...taskOf(inFlight), ...(inFlight.journal ? { journal: inFlight.journal } : {}) } }
      : {}),
    queued: parts.queued.filter((e) => !e.cancelled).map(taskOf),
    ...(approvals.length > 0 ? { approvals } : {}),
    ...(parts.dynamic ? { dynamic: parts.dynamic } : {}),
    ...(parts.handler !== undefined && parts.handler.saved !== undefined
      ? { handler: parts.handler.saved }
      : {}),
  };
};
