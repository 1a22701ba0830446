/**
 * How `arbor run` answers tool calls that wait for a person: `--approve all` / `--approve none`
 * decide at once (for scripts); otherwise, on a terminal, each call is shown (tool, agent, arguments)
 * and the person types y (approve), n (deny, with an optional reason) or e (edit the arguments as
 * JSON, then approve). Requests are asked one at a time, in the order they came. Without a terminal
 * and without `--approve`, a call is denied at once with a reason that says how to allow it.
 */
import { createInterface, type Interface } from "node:readline";
import { approvalStepTool } from "../../agents/workflow/approval-step.ts";
import type { ApprovalDecisionInput } from "../../runtime/approvals.ts";
import type { ArborEvent } from "../../runtime/events.ts";

/** `all`, `none`, or ask on the terminal (`ask`). */
export type ApprovePolicy = "all" | "none" | "ask";

type Requested = Extract<ArborEvent, { type: "approval.requested" }>;

/** What the prompt needs: where to read and write, and how to decide (fails with a message to show). */
export interface PromptDeps {
  readonly input: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly output: NodeJS.WritableStream;
  readonly decide: (approvalId: string, decision: ApprovalDecisionInput) => Promise<void>;
  /** Called around a prompt, so a live view stops redrawing over it. */
  readonly pause?: (paused: boolean) => void;
}

/** Reads `--approve`; undefined for a value that is not one of all, none. */
export const approvePolicyOf = (value: string | undefined): ApprovePolicy | undefined =>
  value === undefined ? "ask" : value === "all" || value === "none" ? value : undefined;

/** Makes the handler for `approval.requested` events; `close` releases the terminal. */
export const makeApprover = (
  policy: ApprovePolicy,
  deps: PromptDeps,
): { readonly onRequested: (event: Requested) => void; readonly close: () => void } => {
  const interactive = policy === "ask" && deps.input.isTTY === true;
  let rl: Interface | undefined;
  let queue: Promise<void> = Promise.resolve();
  const question = (text: string) =>
    new Promise<string>((resolve) => {
      rl ??= createInterface({ input: deps.input, output: deps.output });
      rl.question(text, resolve);
    });
  const decideSafely = (id: string, d: ApprovalDecisionInput) => deps.decide(id, d).catch(() => {});

  const ask = async (event: Requested): Promise<void> => {
    deps.pause?.(true);
    try {
      // A workflow's approval step has a question for the person, and no arguments to edit.
      const step =
        event.tool === approvalStepTool ? (event.args as { step?: unknown; prompt?: unknown }) : undefined;
      deps.output.write(
        step
          ? `\n⏸ workflow step ${String(step.step)} asks:\n  ${String(step.prompt).replaceAll("\n", "\n  ")}\n`
          : `\n⏸ ${event.address} wants to call ${event.tool}\n  arguments: ${JSON.stringify(event.args, null, 2).replaceAll("\n", "\n  ")}\n`,
      );
      for (;;) {
        const answer = (
          await question(step ? "  approve? [y]es / [n]o: " : "  approve? [y]es / [n]o / [e]dit: ")
        )
          .trim()
          .toLowerCase();
        if (answer === "y" || answer === "yes")
          return await decideSafely(event.approvalId, { decision: "approve" });
        if (answer === "n" || answer === "no") {
          const reason = (await question("  reason (optional): ")).trim();
          return await decideSafely(event.approvalId, {
            decision: "deny",
            ...(reason !== "" ? { reason } : {}),
          });
        }
        if (!step && (answer === "e" || answer === "edit")) {
          const text = await question("  arguments as JSON: ");
          let args: unknown;
          try {
            args = JSON.parse(text);
          } catch (error) {
            deps.output.write(`  not JSON (${(error as Error).message}); try again\n`);
            continue;
          }
          try {
            return await deps.decide(event.approvalId, { decision: "approve", args });
          } catch (error) {
            deps.output.write(`  ${(error as Error).message}; try again\n`);
          }
        }
      }
    } finally {
      deps.pause?.(false);
    }
  };

  return {
    onRequested: (event) => {
      if (policy === "all")
        void decideSafely(event.approvalId, { decision: "approve", reason: "--approve all" });
      else if (policy === "none")
        void decideSafely(event.approvalId, { decision: "deny", reason: "--approve none" });
      else if (!interactive)
        void decideSafely(event.approvalId, {
          decision: "deny",
          reason: "no one to ask (stdin is not a terminal): run with --approve all, or on a terminal",
        });
      else queue = queue.then(() => ask(event));
    },
    close: () => rl?.close(),
  };
};
