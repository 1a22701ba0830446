/**
 * The terminal prompt of `arbor run`: a person answers y, n (with a reason) or e (edited arguments
 * as JSON, asked again when they are not JSON or the server refuses them), one request at a time.
 */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { makeApprover } from "../../protocols/cli/approve-prompt.ts";
import type { ApprovalDecisionInput } from "../../runtime/approvals.ts";
import type { ArborEvent } from "../../runtime/events.ts";

const requested = (approvalId: string): Extract<ArborEvent, { type: "approval.requested" }> => ({
  type: "approval.requested",
  tree: "t",
  address: "/t/writer",
  id: "ag_0",
  approvalId,
  tool: "write_file",
  args: { path: "a.txt", content: "hi" },
  requestId: "rq_0",
  requestedAt: 0,
  expiresAt: 600_000,
  time: 0,
});

/** A fake terminal: what the person types, and everything the prompt printed. */
const terminal = () => {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const output = new PassThrough();
  let printed = "";
  output.on("data", (chunk: Buffer) => {
    printed += chunk.toString();
  });
  /** Types `line` once the prompt has printed `question`. */
  const answer = async (question: string, line: string) => {
    while (!printed.includes(question)) await new Promise((r) => setImmediate(r));
    printed = printed.replace(question, "");
    input.write(`${line}\n`);
  };
  return { input, output, answer, printed: () => printed };
};

/** The terminal prompt on a fake terminal, keeping every decision it makes with its approval id. */
const recordingPrompt = () => {
  const term = terminal();
  const decisions: Array<[string, ApprovalDecisionInput]> = [];
  const approver = makeApprover("ask", {
    input: term.input,
    output: term.output,
    decide: async (id, d) => {
      decisions.push([id, d]);
    },
  });
  return { term, decisions, approver };
};

describe("arbor run's approval prompt", () => {
  it("approves on y, denies on n with a reason, and asks one request at a time", async () => {
    const { term, decisions, approver } = recordingPrompt();
    approver.onRequested(requested("ap_1"));
    approver.onRequested(requested("ap_2"));
    await term.answer("approve?", "y");
    await term.answer("approve?", "n");
    await term.answer("reason (optional): ", "wrong folder");
    while (decisions.length < 2) await new Promise((r) => setImmediate(r));
    approver.close();
    expect(decisions).toEqual([
      ["ap_1", { decision: "approve" }],
      ["ap_2", { decision: "deny", reason: "wrong folder" }],
    ]);
    expect(term.printed()).toContain("/t/writer wants to call write_file");
  });

  it("edit: asks again for arguments that are not JSON or that the server refuses", async () => {
    const term = terminal();
    const decisions: ApprovalDecisionInput[] = [];
    const approver = makeApprover("ask", {
      input: term.input,
      output: term.output,
      decide: async (_id, d) => {
        if (typeof (d.args as { content?: unknown })?.content !== "string")
          throw new Error("edited arguments for write_file do not fit its schema");
        decisions.push(d);
      },
    });
    approver.onRequested(requested("ap_3"));
    await term.answer("approve?", "e");
    await term.answer("arguments as JSON: ", "{not json");
    await term.answer("approve?", "e");
    await term.answer("arguments as JSON: ", '{"path":"a.txt","content":7}');
    await term.answer("approve?", "e");
    await term.answer("arguments as JSON: ", '{"path":"b.txt","content":"edited"}');
    while (decisions.length < 1) await new Promise((r) => setImmediate(r));
    approver.close();
    expect(decisions).toEqual([{ decision: "approve", args: { path: "b.txt", content: "edited" } }]);
    expect(term.printed()).toContain("not JSON");
    expect(term.printed()).toContain("do not fit its schema; try again");
  });

  it("shows a workflow's approval step as its question, without an edit choice", async () => {
    const { term, decisions, approver } = recordingPrompt();
    approver.onRequested({
      ...requested("ap_3"),
      address: "/t/lead",
      tool: "workflow.approval",
      args: { run: "wf_1", step: "ok", prompt: "Apply the fix?\nPROBLEM: cache full" },
    });
    while (!term.printed().includes("approve? [y]es / [n]o: ")) await new Promise((r) => setImmediate(r));
    expect(term.printed()).toContain("workflow step ok asks:\n  Apply the fix?\n  PROBLEM: cache full");
    await term.answer("approve? [y]es / [n]o: ", "y");
    while (decisions.length < 1) await new Promise((r) => setImmediate(r));
    approver.close();
    expect(decisions).toEqual([["ap_3", { decision: "approve" }]]);
  });
});
