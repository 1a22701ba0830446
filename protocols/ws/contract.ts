/**
 * The wire contract of `arbor serve`: every method's params as an Effect Schema (validated at the
 * edge, excess keys refused) and every result as a type. The typed client imports the same names,
 * so the server and the client cannot drift apart.
 */
import { Schema } from "effect";
import type { ArborEvent } from "../../runtime/events.ts";
import type { Usage } from "../../runtime/model.ts";
import type { AgentNode, HistoryMessage, RuntimeStats, TreeSummary } from "../../runtime/system.ts";

const Target = Schema.String.pipe(
  Schema.minLength(1, { message: () => "expected a non-empty agent address (/tree/name) or id" }),
  Schema.maxLength(512),
);
const TreeId = Schema.String.pipe(
  Schema.minLength(1, { message: () => "expected a non-empty tree id" }),
  Schema.maxLength(256),
);
const Reason = Schema.String.pipe(Schema.maxLength(2_000));
/** The asker's id for a request (`agent.ask`), to cancel it by (`agent.cancel`). */
/** An id a client chooses: printable text (it is stored, logged and shown). */
const ClientId = (what: string, maxLength: number) =>
  Schema.String.pipe(
    Schema.minLength(1, { message: () => `expected a non-empty ${what}` }),
    Schema.maxLength(maxLength),
    Schema.pattern(/^\P{Cc}*$/u, {
      message: () => `expected no control characters in the ${what}`,
    }),
  );

const RequestId = ClientId("request id", 128);
/** A conversation thread id. */
const Thread = ClientId("thread id", 256);

/** An event type (`agent.restarted`) or a namespace pattern (`agent.*`). */
export const EventTypePattern = Schema.String.pipe(
  Schema.pattern(/^[a-z_]+(\.[a-z_]+)*(\.\*)?$|^\*$/, {
    message: () => "expected an event type like agent.restarted, or a pattern like agent.*",
  }),
);

/**
 * Params of a method that takes none. Gotcha: `Schema.Struct({})` accepts any object even with
 * `onExcessProperty: "error"`, so every key is declared `never` instead.
 */
export const NoParams = Schema.Struct({}, Schema.Record({ key: Schema.String, value: Schema.Never }));

/** Params of every method, by method name. */
export const MethodParams = {
  "tree.spawn": Schema.Struct({ spec: Schema.Unknown }),
  "tree.list": NoParams,
  "tree.inspect": Schema.Struct({ treeId: TreeId }),
  "tree.stop": Schema.Struct({ treeId: TreeId, reason: Schema.optional(Reason) }),
  "agent.send": Schema.Struct({ to: Target, message: Schema.String }),
  "agent.ask": Schema.Struct({
    to: Target,
    input: Schema.String,
    timeoutMs: Schema.optional(
      Schema.Int.pipe(Schema.between(1, 600_000, { message: () => "expected an integer from 1 to 600000" })),
    ),
    requestId: Schema.optional(RequestId),
    thread: Schema.optional(Thread),
    idempotencyKey: Schema.optional(ClientId("idempotency key", 256)),
    /** Send `agent.delta` notifications to this connection while the answer is written. */
    stream: Schema.optional(Schema.Boolean),
  }),
  "agent.cancel": Schema.Struct({ to: Target, requestId: RequestId }),
  "agent.history": Schema.Struct({ to: Target, thread: Thread }),
  "agent.stop": Schema.Struct({ to: Target, reason: Schema.optional(Reason) }),
  "agent.kill": Schema.Struct({ to: Target, reason: Schema.optional(Reason) }),
  "events.subscribe": Schema.Struct({
    treeId: Schema.optional(TreeId),
    types: Schema.optional(Schema.Array(EventTypePattern).pipe(Schema.maxItems(64))),
  }),
  "events.unsubscribe": Schema.Struct({ subscription: Schema.String }),
  "runtime.stats": NoParams,
  "approval.list": NoParams,
  "approval.decide": Schema.Struct({
    approvalId: Schema.String.pipe(
      Schema.minLength(1, { message: () => "expected an approval id (approval.list shows them)" }),
      Schema.maxLength(128),
    ),
    decision: Schema.Literal("approve", "deny"),
    reason: Schema.optional(Reason),
    /** Replacement arguments for the call (approve only); checked against the tool's schema. */
    args: Schema.optional(Schema.Unknown),
  }),
} as const;

/** The method names the server answers. */
export type MethodName = keyof typeof MethodParams;

/** The decoded params of a method. */
export type ParamsOf<M extends MethodName> = Schema.Schema.Type<(typeof MethodParams)[M]>;

/** What each method returns. Results are always objects. */
export interface MethodResults {
  "tree.spawn": { readonly treeId: string; readonly root: string };
  "tree.list": { readonly trees: ReadonlyArray<TreeSummary> };
  "tree.inspect": AgentNode;
  "tree.stop": { readonly treeId: string; readonly stopped: true };
  "agent.send": { readonly sent: true };
  /** `traceId` names the OpenTelemetry trace of the answering step, when the server traces. */
  "agent.ask": { readonly output: string; readonly usage: Usage; readonly traceId?: string };
  "agent.cancel": { readonly cancelled: boolean };
  "agent.history": { readonly thread: string; readonly messages: ReadonlyArray<HistoryMessage> };
  "agent.stop": { readonly stopped: true };
  "agent.kill": { readonly killed: true };
  "events.subscribe": { readonly subscription: string };
  "events.unsubscribe": { readonly unsubscribed: boolean };
  "runtime.stats": RuntimeStats;
  "approval.list": { readonly approvals: ReadonlyArray<ApprovalSummary> };
  "approval.decide": {
    readonly approvalId: string;
    readonly decision: "approve" | "deny";
    readonly by: string;
  };
}

/** A pending approval as clients see it: `args` are the guardrail-redacted ones. */
export interface ApprovalSummary {
  readonly approvalId: string;
  readonly tree: string;
  readonly address: string;
  readonly tool: string;
  readonly args: unknown;
  readonly requestId: string;
  readonly requestedAt: number;
  readonly expiresAt: number;
}

/**
 * The `agent.delta` notification's params: sent to the connection that asked with `stream: true`,
 * before the answer; the texts in `seq` order add up to the answer's `output`.
 */
export interface DeltaNotification {
  readonly requestId: string;
  readonly seq: number;
  readonly text: string;
}

/** The `event` notification's params. */
export interface EventNotification {
  readonly subscription: string;
  readonly event: ArborEvent;
}

/**
 * The `events.dropped` notification's params: sent before the next event once a slow subscriber
 * catches up. `dropped` events were never sent to it; `total` counts every drop on that subscription.
 */
export interface DroppedNotification {
  readonly subscription: string;
  readonly dropped: number;
  readonly total: number;
}

/** The `server.shutdown` notification's params: sent to every connection when the server starts stopping. */
export interface ShutdownNotification {
  readonly reason: string;
}
