/**
 * `approval.list` and `approval.decide` on the wire. A tenant sees and decides only the approvals of
 * its own trees (another tenant's answer as approvals that do not exist); the operator tenants see
 * and decide every one. Edited arguments are checked against the tool's schema before the call runs.
 */
import { Effect } from "effect";
import type { ApprovalEntry } from "../../runtime/approvals.ts";
import type { AgentSystemService } from "../../runtime/system.ts";
import type { ApprovalSummary, MethodResults, ParamsOf } from "./contract.ts";
import type { CallerContext } from "./methods.ts";

/** What a client sees of an approval: the redacted arguments, never the raw ones. */
export const approvalSummary = (entry: ApprovalEntry): ApprovalSummary => ({
  approvalId: entry.approvalId,
  tree: entry.tree,
  address: entry.address,
  tool: entry.tool,
  args: entry.displayArgs,
  requestId: entry.requestId,
  requestedAt: entry.requestedAt,
  expiresAt: entry.expiresAt,
});

/** The handlers, for the method table. */
export const approvalHandlers = (
  system: AgentSystemService,
  isOperator: (caller: CallerContext) => boolean,
) => {
  const scopeOf = (caller: CallerContext) => (isOperator(caller) ? undefined : { tenant: caller.tenant });
  return {
    "approval.list": (
      _: ParamsOf<"approval.list">,
      caller: CallerContext,
    ): Effect.Effect<MethodResults["approval.list"]> =>
      Effect.sync(() => ({ approvals: system.approvals.list(scopeOf(caller)).map(approvalSummary) })),
    "approval.decide": (
      { approvalId, decision, reason, args }: ParamsOf<"approval.decide">,
      caller: CallerContext,
    ): Effect.Effect<MethodResults["approval.decide"], unknown> => {
      const by = isOperator(caller) ? "operator" : caller.tenant;
      return Effect.map(
        system.approvals.decide(
          approvalId,
          { decision, ...(reason !== undefined ? { reason } : {}), ...(args !== undefined ? { args } : {}) },
          by,
          scopeOf(caller),
        ),
        () => ({ approvalId, decision, by }),
      );
    },
  };
};
