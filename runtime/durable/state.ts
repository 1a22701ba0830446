/**
 * An agent's durable state as data — what a durable tree writes for each agent at a step boundary
 * and decodes when it comes back: its statechart's persisted snapshot (state, incarnation, thread
 * histories, the task in flight), its restart count, the task in flight and the tasks waiting in its
 * mailbox. Stored state is decoded with a schema, never trusted: a snapshot that does not decode, or
 * one written in a format this release cannot read, keeps its tree down with a reason.
 */
import { Either, ParseResult, Schema } from "effect";

/** The format this release writes. A stored state of another format is refused with a reason. */
export const durableFormat = 1;

const JournalEntrySchema = Schema.Struct({
  seq: Schema.Int.pipe(Schema.nonNegative()),
  kind: Schema.Literal("model", "tool", "delegate"),
  result: Schema.Unknown,
});

const Task = Schema.Struct({
  kind: Schema.Literal("ask", "tell", "input"),
  input: Schema.String,
  /** Durable id of the task: its journal entries are keyed by it. */
  taskId: Schema.String,
  requestId: Schema.optional(Schema.String),
  thread: Schema.optional(Schema.String),
  idempotencyKey: Schema.optional(Schema.String),
  /** The task in flight: the calls its step completed, in order (see journal.ts). */
  journal: Schema.optional(Schema.Array(JournalEntrySchema)),
});

/** A task as data (the asker's callback is not: after a restart, the asker asks again by key). */
export type DurableTask = Schema.Schema.Type<typeof Task>;

const Message = Schema.Struct({ role: Schema.Literal("user", "assistant"), content: Schema.String });

/** The part of the statechart's persisted snapshot a resumed agent starts from. */
const LifecycleSnapshot = Schema.Struct({
  value: Schema.Unknown,
  context: Schema.Struct({
    id: Schema.String,
    incarnation: Schema.Int.pipe(Schema.nonNegative()),
    lastCrash: Schema.String,
    threads: Schema.Record({ key: Schema.String, value: Schema.Array(Message) }),
  }),
});

/** An approval the task in flight asked for (runtime/approvals.ts), pending or decided. */
const Approval = Schema.Struct({
  approvalId: Schema.String,
  tenant: Schema.optional(Schema.String),
  tree: Schema.String,
  address: Schema.String,
  agentId: Schema.String,
  tool: Schema.String,
  args: Schema.Unknown,
  displayArgs: Schema.Unknown,
  requestId: Schema.String,
  callIndex: Schema.Int.pipe(Schema.nonNegative()),
  requestedAt: Schema.Number,
  expiresAt: Schema.Number,
  decision: Schema.optional(
    Schema.Struct({
      decision: Schema.Literal("approve", "deny"),
      reason: Schema.optional(Schema.String),
      args: Schema.optional(Schema.Unknown),
      by: Schema.String,
      at: Schema.Number,
    }),
  ),
  detached: Schema.optional(Schema.Boolean),
});

const AgentStateSchema = Schema.Struct({
  format: Schema.Literal(durableFormat),
  lifecycle: LifecycleSnapshot,
  restarts: Schema.Int.pipe(Schema.nonNegative()),
  inFlight: Schema.optional(Task),
  queued: Schema.Array(Task),
  /** Approvals the task in flight asked for: a pending one can still be decided after a restart. */
  approvals: Schema.optional(Schema.Array(Approval)),
  /** A handler micro agent's handler state (`MicroHandler.save`), given back when it comes back. */
  handler: Schema.optional(Schema.Unknown),
  /** A runtime-spawned agent: spawned again below `parent` when the tree comes back. */
  dynamic: Schema.optional(Schema.Struct({ parent: Schema.String, spec: Schema.Unknown })),
});

/** One agent's durable state. */
export type AgentState = Schema.Schema.Type<typeof AgentStateSchema>;

const decodeState = Schema.decodeUnknownEither(AgentStateSchema);

/**
 * Decodes a stored agent state, or says in one line why it cannot be used (a newer or older format,
 * or a snapshot that does not decode).
 */
export const decodeAgentState = (address: string, raw: unknown): Either.Either<AgentState, string> => {
  const format = typeof raw === "object" && raw !== null ? (raw as { format?: unknown }).format : undefined;
  if (format !== durableFormat)
    return Either.left(
      `${address}: stored state has format ${JSON.stringify(format ?? null)}, this release reads format ${durableFormat} only (it was written by another release and cannot be migrated)`,
    );
  return Either.mapLeft(
    decodeState(raw),
    (error) =>
      `${address}: stored state does not decode: ${ParseResult.TreeFormatter.formatErrorSync(error).split("\n").slice(0, 4).join(" ")}`,
  );
};

/** An agent coming back: its decoded state. */
export interface RestoredAgent {
  readonly state: AgentState;
}
