/**
 * The public service API of the runtime: everything protocols (WebSocket, CLI, MCP) and
 * TypeScript users may call. Protocols call only this, never the internals.
 */
import { Context, type Effect, type Exit } from "effect";
import type { Approvals } from "./approvals.ts";
import type { DurableStoreFailed } from "./durable/store.ts";
import type {
  AgentFailed,
  Cancelled,
  MailboxFull,
  NotAllowed,
  NotFound,
  PluginError,
  SpecInvalid,
  Timeout,
} from "./errors.ts";
import type { AgentKind, EventBus } from "./events.ts";
import type { GuardrailViolation } from "./guardrail.ts";
import type { ProviderError, ProviderLookup, ToolSpec, Usage } from "./model.ts";
import type { Plugin } from "./plugin.ts";
import type { ToolResult, ToolRunner } from "./tool.ts";
import type { TripwireTripped } from "./tripwire.ts";

/** A running tree. `treeId` is unique in the runtime and is the first segment of every address in it. */
export interface TreeHandle {
  readonly treeId: string;
  readonly name: string;
  /** Address of the root agent, `/<treeId>/<root name>`. */
  readonly root: string;
}

export interface TreeSummary extends TreeHandle {
  readonly tenant?: string;
  readonly status: "running" | "stopping" | "stopped";
  readonly agents: number;
  readonly startedAt: number;
  /** The tree is kept in the durable store and comes back after a restart of the runtime. */
  readonly durable?: boolean;
  /** When a durable tree came back after a restart (epoch ms). */
  readonly resumedAt?: number;
}

/** One agent as `inspect` shows it, children nested. */
export interface AgentNode {
  readonly id: string;
  readonly address: string;
  readonly name: string;
  readonly kind: AgentKind;
  readonly role?: string;
  /** `running` | `restarting` | `stopped` | `failed` */
  readonly status: "running" | "restarting" | "stopped" | "failed";
  /** The actor's current state (`idle`, `working`, …). */
  readonly state: string;
  readonly restarts: number;
  readonly mailbox: { readonly size: number; readonly capacity: number; readonly dropped: number };
  readonly children: ReadonlyArray<AgentNode>;
}

/** Counters for `runtime.stats` and `/metrics`. */
export interface RuntimeStats {
  readonly trees: number;
  readonly agentsLive: number;
  readonly messagesRouted: number;
  readonly messagesDropped: number;
  readonly restarts: number;
  readonly providerCalls: number;
  readonly tokens: number;
  readonly errors: number;
}

/** The answer to `ask`. */
export interface Reply {
  readonly output: string;
  readonly usage: Usage;
  /** The OpenTelemetry trace the answering step ran in; present only when tracing is on. */
  readonly traceId?: string;
}

/** Everything that can go wrong when asking an agent. */
export type AskError =
  | NotFound
  | Cancelled
  | MailboxFull
  | AgentFailed
  | Timeout
  | ProviderError
  | GuardrailViolation
  | TripwireTripped
  | NotAllowed;

/** How to ask. */
export interface AskOptions {
  /**
   * The caller's deadline: past it the asker gets `Timeout` (fault `user`) and the agent's step is
   * interrupted — its provider request aborted — so the agent takes its next task at once.
   */
  readonly timeoutMs?: number;
  /** The caller's id for this request, to `cancel` it by. Made up when absent. */
  readonly requestId?: string;
  /**
   * The conversation thread: an agent whose spec sets `history` sends the thread's earlier
   * exchanges with this ask and remembers this one. Gotcha: without `history` the thread is ignored.
   */
  readonly thread?: string;
  /**
   * Asking again with the same key (and agent) returns the reply of the finished ask, or waits for
   * the one still running — also after a reconnect, and, on a durable tree, after a restart of the
   * runtime — instead of running the task twice. Only replies are kept: a failed ask may be retried.
   */
  readonly idempotencyKey?: string;
  /**
   * Stream the answer: the step asks its model for a stream and publishes `agent.delta` events
   * (this ask's `requestId`, `seq`, `text`) whose texts add up to the reply. Gotcha: a handler micro
   * agent answers at once and sends no deltas.
   */
  readonly stream?: boolean;
}

/** One remembered message of a thread (`history`). */
export interface HistoryMessage {
  readonly role: "user" | "assistant";
  readonly content: string;
}

export interface SpawnOptions {
  /**
   * Owner of the tree; protocols use it to keep tenants apart. The tree's agents resolve addresses
   * only within it: another tenant's agents are not found.
   */
  readonly tenant?: string;
  /**
   * Draw the tree id as the spec name and a random suffix (`atree-1f2e3d4c`) instead of the first free
   * `name`, `name-2`, …, so the id tells nothing about the trees of other tenants.
   */
  readonly opaqueId?: boolean;
  /** Plugins loaded for this tree only; unloaded when it stops. */
  readonly plugins?: ReadonlyArray<Plugin>;
  /**
   * Keep the tree in the durable store so it comes back after a restart (overrides the spec's
   * `durable` and the runtime's default). Needs a runtime made with a durable store.
   */
  readonly durable?: boolean;
}

/** The runtime service. */
export interface AgentSystemService {
  readonly spawnTree: (
    spec: unknown,
    options?: SpawnOptions,
  ) => Effect.Effect<TreeHandle, SpecInvalid | PluginError | NotAllowed | DurableStoreFailed>;
  readonly listTrees: () => Effect.Effect<ReadonlyArray<TreeSummary>>;
  readonly inspect: (treeId: string) => Effect.Effect<AgentNode, NotFound>;
  /** The spec a tree was spawned from, after plugins filled it in (a role's prompt, the workflow). */
  readonly specOf: (treeId: string) => Effect.Effect<Readonly<Record<string, unknown>>, NotFound>;
  /** Stops the tree: children first, in reverse start order. Resolves when nothing of it is left. */
  readonly stopTree: (treeId: string, reason?: string) => Effect.Effect<void, NotFound>;
  /** The tree an address or id belongs to (for ownership checks). */
  readonly treeOf: (to: string) => Effect.Effect<TreeSummary, NotFound>;
  /** Fire and forget. Fails only when the target is unknown or its mailbox refuses the message. */
  readonly send: (to: string, message: string) => Effect.Effect<void, NotFound | MailboxFull>;
  /** Request and reply: exactly one reply or one typed failure. */
  readonly ask: (to: string, input: string, options?: AskOptions) => Effect.Effect<Reply, AskError>;
  /**
   * `ask` for callers that drive their own bookkeeping in callbacks, with no fiber: `done` is called
   * once, later, with the reply or a typed failure. Returns the withdrawal (what interrupting `ask`
   * does); a withdrawn ask calls `done` no more. Gotcha: no deadline, idempotency key, thread or span
   * (the task carries none): use `ask` for those.
   */
  readonly askWith: (
    to: string,
    input: string,
    done: (exit: Exit.Exit<Reply, AskError>) => void,
  ) => () => void;
  /**
   * Withdraws the request `requestId` sent to `to`: its asker gets `Cancelled`; a queued task is
   * dropped, a task in flight has its step interrupted. `cancelled: false` when no such request waits.
   */
  readonly cancel: (
    to: string,
    requestId: string,
  ) => Effect.Effect<{ readonly cancelled: boolean }, NotFound>;
  /** The remembered messages of a thread of agent `to`, oldest first. */
  readonly history: (to: string, thread: string) => Effect.Effect<ReadonlyArray<HistoryMessage>, NotFound>;
  /**
   * `text` as agent `to`'s output guardrails let a person see it (PII redacted); a text they block
   * is withheld. For what the runtime shows people on an agent's behalf (an approval step's prompt).
   */
  readonly shownBy: (to: string, text: string) => Effect.Effect<string, NotFound>;
  /** Normal exit of one agent and its subtree; it is not restarted. */
  readonly stopAgent: (to: string, reason?: string) => Effect.Effect<void, NotFound>;
  /** Abnormal exit, for operators and fault drills: the supervisor handles it as a crash. */
  readonly killAgent: (to: string, reason?: string) => Effect.Effect<void, NotFound>;
  /** Runtime-wide counters; with `tenant`, only that tenant's trees, agents and traffic. */
  readonly stats: (scope?: { readonly tenant: string | undefined }) => Effect.Effect<RuntimeStats>;
  /**
   * The tools an agent may use (its kind, role and settings decide), as offered to its model;
   * without `agent`, the tools the operator identity may use.
   */
  readonly toolsFor: (agent?: string) => Effect.Effect<ReadonlyArray<ToolSpec>, NotFound>;
  /**
   * Calls a tool as agent `as` (with its permissions, and spawning/sending on its behalf), or as the
   * operator identity (a parent without a role, which cannot spawn). Always exactly one result; a
   * refused or failed call is a result with `ok: false`.
   */
  readonly callTool: (name: string, args: unknown, as?: string) => Effect.Effect<ToolResult, NotFound>;
  readonly events: EventBus;
  /**
   * Tool calls waiting for a person: `list` and `decide` them (scoped by tenant; no scope is the
   * operator, who sees every tenant's).
   */
  readonly approvals: Approvals;
  readonly providers: ProviderLookup;
  readonly tools: ToolRunner;
}

/** The runtime as an Effect service. */
export class AgentSystem extends Context.Tag("arbor/AgentSystem")<AgentSystem, AgentSystemService>() {}
