/**
 * An `approval` step of a workflow: it waits for a person through the runtime's approvals — the store
 * tool calls use — so the request is listed by `approval.list`, decided by `approval.decide` (or
 * `arbor run --approve`, or the terminal prompt), evented as `approval.requested` / `approval.decided`,
 * scoped to the tree's tenant and denied at `approvals.timeoutMs`. The id is derived from the tree,
 * the run and the step, so a workflow run again with the same `runId` finds the same approval.
 */
import { Effect } from "effect";
import { type ApprovalDecision, approvalIdOf } from "../../runtime/approvals.ts";
import type { AgentNode, AgentSystemService } from "../../runtime/system.ts";

/** The tool name an approval step's entries carry, so people and clients can tell them from tool calls. */
export const approvalStepTool = "workflow.approval";

/** What an approval step asks. */
export interface ApprovalStepRequest {
  readonly treeId: string;
  /** The tree's root: the approval is made on its behalf. */
  readonly root: AgentNode;
  readonly run: string;
  readonly step: string;
  /** The rendered prompt. */
  readonly prompt: string;
  /** The prompt as people see it (`promptAsShown`). */
  readonly shown: string;
}

/**
 * The prompt as people see it: it is built from steps' outputs, so it passes the root's output
 * guardrails (PII redacted; a blocked text is withheld).
 */
export const promptAsShown = (system: AgentSystemService, root: AgentNode, prompt: string) =>
  system.shownBy(root.address, prompt).pipe(Effect.orElseSucceed(() => "[withheld: the tree is gone]"));

/** Where an approval step's entry is kept: its request id is `<run>/<step>`. */
export const approvalStepId = (treeId: string, root: AgentNode, run: string, step: string): string =>
  approvalIdOf(treeId, root.address, `${run}/${step}`, 0);

/** The step's output for a decision: `approved` / `denied`, with the reason after a colon. */
export const approvalOutput = (decision: ApprovalDecision): string =>
  `${decision.decision === "approve" ? "approved" : "denied"}${decision.reason ? `: ${decision.reason}` : ""}`;

/**
 * Asks for the approval (or finds the one asked before under the same id) and waits for its decision.
 * Gotcha: interrupting the wait (a failed sibling step, a stopped tree) leaves the entry pending; a
 * run with the same `runId` picks it up again.
 */
export const awaitApprovalStep = (
  system: AgentSystemService,
  request: ApprovalStepRequest,
): Effect.Effect<ApprovalDecision> =>
  Effect.gen(function* () {
    const tenant = yield* system.treeOf(request.treeId).pipe(
      Effect.map((tree) => tree.tenant),
      Effect.orElseSucceed(() => undefined),
    );
    const args = { run: request.run, step: request.step, prompt: request.prompt };
    return yield* system.approvals.await(
      {
        ...(tenant !== undefined ? { tenant } : {}),
        tree: request.treeId,
        address: request.root.address,
        agentId: request.root.id,
        tool: approvalStepTool,
        args,
        displayArgs: { ...args, prompt: request.shown },
        requestId: `${request.run}/${request.step}`,
        callIndex: 0,
        detached: true,
      },
      () => Effect.fail("an approval step has no arguments to edit: approve or deny it"),
    );
  });
