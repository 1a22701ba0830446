/**
 * Human approval of tool calls. A pending approval is plain data (`ApprovalEntry`) kept in one
 * store with a small port (`create` / `decide` / `list` / `restore` / `entries`), so a durable tree
 * can persist the entries and put them back after a restart. The id is derived from where the call
 * was made — tree, agent, request, index of the call in the step — so a step that runs again after a
 * restart finds its earlier approval (and its decision) instead of asking twice.
 *
 * The live side is only the waiters: a step waiting for a decision holds a callback here; a decision
 * (or the expiry, on Effect's Clock) wakes it. `approval.requested` and `approval.decided` are evented.
 */
import { createHash } from "node:crypto";
import { Data, Effect, Either } from "effect";
import type { Fault } from "./errors.ts";
import type { EventBus } from "./events.ts";
import { spanAttributes, withSpan } from "./tracing.ts";

/** How long a request waits for a person before it is denied, unless `approvals.timeoutMs` says otherwise. */
export const defaultApprovalTimeoutMs = 10 * 60_000;

/** What a person decides. `args` replaces the model's arguments (validated against the tool's schema). */
export interface ApprovalDecisionInput {
  readonly decision: "approve" | "deny";
  readonly reason?: string;
  readonly args?: unknown;
}

/** A decision as recorded: who made it (`operator`, a tenant, `timeout`) and when. */
export interface ApprovalDecision extends ApprovalDecisionInput {
  readonly by: string;
  readonly at: number;
}

/** One approval, pending or decided. Plain serializable data. */
export interface ApprovalEntry {
  readonly approvalId: string;
  readonly tenant?: string;
  readonly tree: string;
  readonly address: string;
  readonly agentId: string;
  readonly tool: string;
  /** The arguments the model produced (run as given when approved without edits). */
  readonly args: unknown;
  /** The arguments as shown to people: passed through the guardrails (PII redacted). */
  readonly displayArgs: unknown;
  readonly requestId: string;
  /** Index of the tool call within its step (counted over the step's model rounds). */
  readonly callIndex: number;
  readonly requestedAt: number;
  readonly expiresAt: number;
  readonly decision?: ApprovalDecision;
  /**
   * Asked outside an agent's step (a workflow's approval step): a durable tree keeps it with the
   * state of the agent at `address`, pending or decided, not with a task in flight.
   */
  readonly detached?: boolean;
}

/** What a step gives to ask for an approval; the store adds the id and the times. */
export type ApprovalRequest = Omit<ApprovalEntry, "approvalId" | "requestedAt" | "expiresAt" | "decision">;

/** A decision that cannot be made: unknown id (or another tenant's), decided already, bad edited args. */
export class ApprovalError extends Data.TaggedError("ApprovalError")<{
  readonly reason: "approval_not_found" | "already_decided" | "invalid_args";
  readonly approvalId: string;
  readonly detail: string;
}> {
  readonly fault: Fault = "user";
  override get message(): string {
    return `approval ${this.approvalId}: ${this.detail}`;
  }
}

/** Which approvals a caller sees: `undefined` is the operator (every tenant), else one tenant's. */
export type ApprovalScope = { readonly tenant: string | undefined } | undefined;

/** Checks edited arguments against the tool's schema; fails with a message for the decider. */
export type ArgsValidator = (args: unknown) => Effect.Effect<unknown, string>;

/** The store. */
export interface Approvals {
  /**
   * Creates the approval (or finds the one with the same id, after a re-run of the step) and waits
   * for its decision; past `expiresAt` it is denied `by: "timeout"`. Interrupting the wait leaves the
   * entry pending (a durable step resumes it).
   */
  readonly await: (request: ApprovalRequest, validate: ArgsValidator) => Effect.Effect<ApprovalDecision>;
  /** Records a decision and wakes the waiting step. */
  readonly decide: (
    approvalId: string,
    input: ApprovalDecisionInput,
    by: string,
    scope?: ApprovalScope,
  ) => Effect.Effect<ApprovalEntry, ApprovalError>;
  /** The pending approvals the scope may see, oldest first. */
  readonly list: (scope?: ApprovalScope) => ReadonlyArray<ApprovalEntry>;
  /** Every entry, pending and recently decided, for a durable store to persist. */
  readonly entries: () => ReadonlyArray<ApprovalEntry>;
  /** Puts persisted entries back (before their steps resume). */
  readonly restore: (entries: ReadonlyArray<ApprovalEntry>) => void;
  /**
   * Forgets the entries of a tree that stopped; a wait still running is denied `by: "runtime"`.
   * Gotcha for durable trees: persist `entries()` before a tree is stopped for a restart; this drops
   * them from memory.
   */
  readonly dropTree: (tree: string) => void;
}

/**
 * `approvals.timeoutMs` of the config: how long a tool call waits for a person before it is denied.
 * A value that is not a positive integer is refused, naming the setting.
 */
export const readApprovalsTimeout = (
  config: Readonly<Record<string, unknown>>,
): Either.Either<number | undefined, string> => {
  const section = config.approvals;
  if (section === undefined) return Either.right(undefined);
  if (typeof section !== "object" || section === null || Array.isArray(section))
    return Either.left('config.approvals must be an object like { "timeoutMs": 600000 }');
  const unknown = Object.keys(section).filter((k) => k !== "timeoutMs");
  if (unknown.length > 0)
    return Either.left(`config.approvals: unknown setting ${unknown.join(", ")} (only timeoutMs)`);
  const value = (section as { timeoutMs?: unknown }).timeoutMs;
  if (value === undefined) return Either.right(undefined);
  return typeof value === "number" && Number.isInteger(value) && value > 0
    ? Either.right(value)
    : Either.left(
        `config.approvals.timeoutMs must be a positive integer of milliseconds, not ${JSON.stringify(value)}`,
      );
};

/** The deterministic id of the approval for call `callIndex` of request `requestId` of an agent. */
export const approvalIdOf = (tree: string, address: string, requestId: string, callIndex: number): string =>
  `ap_${createHash("sha256").update(`${tree}\0${address}\0${requestId}\0${callIndex}`).digest("hex").slice(0, 16)}`;

export interface ApprovalsOptions {
  readonly events: EventBus;
  readonly now: () => number;
  /** Default 10 minutes. */
  readonly timeoutMs?: number;
  /** Called after an entry is created or decided (a durable tree writes it with its agent's state). */
  readonly onChange?: (entry: ApprovalEntry) => void;
}

const visible = (entry: ApprovalEntry, scope: ApprovalScope) =>
  scope === undefined || entry.tenant === scope.tenant;

/** Makes the in-memory store (the durable store persists what `entries` returns). */
export const makeApprovals = (options: ApprovalsOptions): Approvals => {
  const timeoutMs = options.timeoutMs ?? defaultApprovalTimeoutMs;
  const byId = new Map<string, ApprovalEntry>();
  const waiters = new Map<string, (d: ApprovalDecision) => void>();
  /** The tool schema checks of approvals whose step is live (a restored one has none until it re-runs). */
  const validators = new Map<string, ArgsValidator>();
  const origin = (e: ApprovalEntry) => ({ tree: e.tree, address: e.address, id: e.agentId });

  const record = (entry: ApprovalEntry, decision: ApprovalDecision): ApprovalEntry => {
    const decided = { ...entry, decision };
    byId.set(entry.approvalId, decided);
    options.events.publishSync({
      type: "approval.decided",
      ...origin(entry),
      approvalId: entry.approvalId,
      tool: entry.tool,
      requestId: entry.requestId,
      decision: decision.decision,
      by: decision.by,
      edited: decision.args !== undefined,
      ...(decision.reason !== undefined ? { reason: decision.reason } : {}),
    });
    options.onChange?.(decided);
    const wake = waiters.get(entry.approvalId);
    waiters.delete(entry.approvalId);
    validators.delete(entry.approvalId);
    wake?.(decision);
    return decided;
  };

  const create = (request: ApprovalRequest): ApprovalEntry => {
    const approvalId = approvalIdOf(request.tree, request.address, request.requestId, request.callIndex);
    const known = byId.get(approvalId);
    if (known) return known;
    const requestedAt = options.now();
    const entry: ApprovalEntry = { ...request, approvalId, requestedAt, expiresAt: requestedAt + timeoutMs };
    byId.set(approvalId, entry);
    options.events.publishSync({
      type: "approval.requested",
      ...origin(entry),
      approvalId,
      tool: entry.tool,
      args: entry.displayArgs,
      requestId: entry.requestId,
      requestedAt,
      expiresAt: entry.expiresAt,
    });
    options.onChange?.(entry);
    return entry;
  };

  const expire = (approvalId: string) =>
    Effect.sync(() => {
      const entry = byId.get(approvalId)!;
      return (
        entry.decision ??
        record(entry, {
          decision: "deny",
          reason: `no decision within ${entry.expiresAt - entry.requestedAt} ms`,
          by: "timeout",
          at: options.now(),
        }).decision!
      );
    });

  const wait = (request: ApprovalRequest, validate: ArgsValidator): Effect.Effect<ApprovalDecision> =>
    Effect.suspend(() => {
      const entry = create(request);
      if (entry.decision) return Effect.succeed(entry.decision);
      validators.set(entry.approvalId, validate);
      const untilExpiry = Math.max(0, entry.expiresAt - options.now());
      const decided = Effect.async<ApprovalDecision>((resume) => {
        // Decided between `create` (whose event a listener may answer at once) and this wait.
        const already = byId.get(entry.approvalId)?.decision;
        if (already) return resume(Effect.succeed(already));
        waiters.set(entry.approvalId, (d) => resume(Effect.succeed(d)));
        return Effect.sync(() => waiters.delete(entry.approvalId));
      });
      return Effect.timeoutTo(decided, {
        duration: untilExpiry,
        onSuccess: (d) => Effect.succeed(d),
        onTimeout: () => expire(entry.approvalId),
      }).pipe(Effect.flatten);
    });

  const decide: Approvals["decide"] = (approvalId, input, by, scope) =>
    Effect.gen(function* () {
      const entry = byId.get(approvalId);
      if (entry === undefined || !visible(entry, scope))
        return yield* new ApprovalError({
          reason: "approval_not_found",
          approvalId,
          detail: "no such approval (approval.list shows the pending ones)",
        });
      if (entry.decision)
        return yield* new ApprovalError({
          reason: "already_decided",
          approvalId,
          detail: `already decided: ${entry.decision.decision} by ${entry.decision.by}`,
        });
      const args = input.args;
      if (args !== undefined && input.decision === "approve") {
        // Checked here so the decider hears about a bad edit; the tool runner decodes it again.
        const validate = validators.get(approvalId);
        if (validate)
          yield* Effect.mapError(
            validate(args),
            (problem) =>
              new ApprovalError({
                reason: "invalid_args",
                approvalId,
                detail: `edited arguments for ${entry.tool} do not fit its schema: ${problem}`,
              }),
          );
      }
      return record(entry, {
        decision: input.decision,
        ...(input.reason !== undefined ? { reason: input.reason } : {}),
        ...(args !== undefined && input.decision === "approve" ? { args } : {}),
        by,
        at: options.now(),
      });
    });

  return {
    // The wait for a person is a span of its own inside the tool call, with the decision on it.
    await: (request, validate) =>
      wait(request, validate).pipe(
        Effect.tap((d) =>
          spanAttributes({ "arbor.approval.decision": d.decision, "arbor.approval.by": d.by }),
        ),
        withSpan("approval.wait", () => ({
          "gen_ai.tool.name": request.tool,
          "arbor.agent.address": request.address,
          "arbor.request.id": request.requestId,
        })),
      ),
    decide,
    list: (scope) => [...byId.values()].filter((e) => e.decision === undefined && visible(e, scope)),
    entries: () => [...byId.values()],
    restore: (entries) => {
      for (const entry of entries) if (!byId.has(entry.approvalId)) byId.set(entry.approvalId, entry);
    },
    dropTree: (tree) => {
      // The tree's steps are being interrupted (their waits end with them): nothing of it stays listed.
      // A wait outside a step (a workflow's approval step) is woken with a denial, so it ends too.
      for (const [id, entry] of byId)
        if (entry.tree === tree) {
          const wake = waiters.get(id);
          byId.delete(id);
          waiters.delete(id);
          validators.delete(id);
          wake?.({
            decision: "deny",
            reason: "the tree stopped before a decision",
            by: "runtime",
            at: options.now(),
          });
        }
    },
  };
};
