/**
 * The tool port. A tool has a name, a description, a JSON Schema for its input (derived from an
 * Effect Schema by `defineTool` in plugins/tools), a validator, a handler, a timeout and
 * permissions. The registry that the agent step calls never fails: every tool call gets exactly
 * one result, an error result included, so a model never sees a dangling call.
 */
import type { Effect } from "effect";
import type { AgentInfo } from "./agent-info.ts";
import type { ApprovalDecision, ArgsValidator } from "./approvals.ts";
import type { AgentKind } from "./events.ts";
import type { ToolCall, ToolSpec } from "./model.ts";

/** What a running agent can do through tools: the built-in `spawn_agent`, `send_to_agent`, `handoff` use it. */
export interface AgentOps {
  readonly spawn: (spec: unknown) => Effect.Effect<{ readonly address: string; readonly id: string }, Error>;
  readonly send: (to: string, message: string) => Effect.Effect<void, Error>;
  /**
   * Asks and waits, up to `timeoutMs` (default 60 s); past it the target's step is interrupted.
   * `thread` names the conversation, for a target that keeps history.
   */
  readonly ask: (
    to: string,
    input: string,
    timeoutMs?: number,
    thread?: string,
  ) => Effect.Effect<string, Error>;
  /** The address a target names (relative names resolve to the agent's child, then its sibling). */
  readonly resolve: (to: string) => string;
}

/** Everything a tool handler may use about its caller. */
export interface ToolContext {
  readonly agent: AgentInfo;
  readonly ops: AgentOps;
  /**
   * Where the tool's result goes next: `network` when the calling agent's model is a network
   * provider, so the result passes the guardrails (PII redaction) before it leaves the machine.
   */
  readonly destination?: "network" | "local";
  /**
   * Asks a person to approve the call (present for calls a model made in an agent step). The
   * runner calls it for a tool that needs approval and waits; absent (the operator's own
   * `tools.call`, MCP clients), no approval is asked: the caller is the person.
   */
  readonly approve?: (request: ApprovalAsk) => Effect.Effect<ApprovalDecision>;
}

/** What the runner hands to `ToolContext.approve`. */
export interface ApprovalAsk {
  readonly tool: string;
  readonly args: unknown;
  /** The arguments as people see them (guardrail-redacted). */
  readonly displayArgs: unknown;
  /** Checks edited arguments against the tool's schema. */
  readonly validate: ArgsValidator;
}

/**
 * Whether a call needs a person's approval: always, never, or as a predicate over the decoded
 * arguments. Gotcha: the spec's `tools.approve` can add approval to any tool; nothing removes it.
 */
export type NeedsApproval = boolean | ((args: unknown, ctx: ToolContext) => Effect.Effect<boolean>);

/** Who may call a tool. Absent lists mean "everyone". */
export interface ToolPermissions {
  readonly kinds?: ReadonlyArray<AgentKind>;
  readonly roles?: ReadonlyArray<string>;
}

/** A tool contribution. `validate` returns the decoded arguments or a message describing the schema error. */
export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Readonly<Record<string, unknown>>;
  readonly validate: (args: unknown) => Effect.Effect<unknown, string>;
  readonly run: (args: unknown, ctx: ToolContext) => Effect.Effect<unknown, string>;
  /**
   * `run` under the runner's time limit, for a tool that can time itself more cheaply than the
   * runner's generic race (a Promise handler raced with one timer). Fails with `onTimeout()` when
   * the limit passes. Absent, the runner races `run` with a sleep.
   */
  readonly runWithin?: (
    args: unknown,
    ctx: ToolContext,
    limit: { readonly timeoutMs: number; readonly onTimeout: () => string },
  ) => Effect.Effect<unknown, string>;
  readonly timeoutMs?: number;
  readonly permissions?: ToolPermissions;
  /**
   * Whether the tool can run right now (an MCP tool whose server is restarting cannot). Absent means
   * always. An unavailable tool is hidden from models and a call to it gets an error result.
   */
  readonly available?: () => boolean;
  /** Whether a model's call waits for a person (see `NeedsApproval`). */
  readonly needsApproval?: NeedsApproval;
}

/** The result of one tool call, as returned to the model. */
export interface ToolResult {
  readonly callId: string;
  readonly name: string;
  readonly ok: boolean;
  readonly content: string;
}

/** What the agent step needs from the tool registry. */
export interface ToolRunner {
  /** The tools this agent is allowed to see, as offered to its model. */
  readonly visible: (agent: AgentInfo) => ReadonlyArray<ToolSpec>;
  /** Runs one call; never fails (errors become an `ok: false` result). */
  readonly call: (call: ToolCall, ctx: ToolContext) => Effect.Effect<ToolResult>;
}
