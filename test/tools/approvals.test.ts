/**
 * Approval rules in process (`createArbor`): a `tool()` predicate and a `defineTool` flag decide
 * which calls wait; `tools.approve` globs follow the hierarchy (a subtree adds, never removes); the
 * `maxStepMs` tripwire does not count the time a call waits for a person; the approval id is the
 * same for the same call of the same request.
 */
import { Effect, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createArbor, defineTool, tool } from "../../index.ts";
import { approvalIdOf } from "../../runtime/approvals.ts";
import type { ArborEvent } from "../../runtime/events.ts";

const ran: string[] = [];
const transfer = tool({
  name: "transfer",
  description: "Moves money.",
  parameters: z.object({ amount: z.number() }),
  needsApproval: (args) => args.amount > 100,
  execute: async ({ amount }) => {
    ran.push(`transfer ${amount}`);
    return `moved ${amount}`;
  },
});
const wipe = defineTool({
  name: "wipe_cache",
  description: "Empties the cache.",
  input: Schema.Struct({}),
  needsApproval: true,
  run: () =>
    Effect.sync(() => {
      ran.push("wipe");
      return "wiped";
    }),
});
const note = tool({
  name: "note_write",
  description: "Writes a note.",
  parameters: z.object({ text: z.string() }),
  execute: async ({ text }) => {
    ran.push(`note ${text}`);
    return "noted";
  },
});

const caller = (name: string, calls: ReadonlyArray<{ name: string; args: unknown }>, extra = {}) => ({
  name,
  root: {
    name: "agent",
    kind: "child" as const,
    ...extra,
    model: { provider: "scripted", script: [{ toolCalls: calls }, { text: "done: {{tool}}" }] },
  },
});

describe("which calls wait for a person", () => {
  it("a tool() predicate over the arguments and a defineTool flag", async () => {
    const arbor = await createArbor({ customTools: [transfer, wipe] });
    const asked: string[] = [];
    arbor.onApproval((approval) => {
      asked.push(`${approval.tool} ${JSON.stringify(approval.args)}`);
      return { decision: "approve" };
    });
    try {
      ran.length = 0;
      const { root } = await arbor.spawn(
        caller("money", [
          { name: "transfer", args: { amount: 5 } },
          { name: "transfer", args: { amount: 500 } },
          { name: "wipe_cache", args: {} },
        ]) as never,
      );
      await arbor.ask(root, "go");
      expect(asked).toEqual(['transfer {"amount":500}', "wipe_cache {}"]);
      expect(ran).toEqual(["transfer 5", "transfer 500", "wipe"]);
    } finally {
      await arbor.close();
    }
  });

  it("tools.approve globs accumulate down the tree: a child cannot remove them", async () => {
    const arbor = await createArbor({ customTools: [note] });
    const events: ArborEvent[] = [];
    arbor.onEvent((e) => events.push(e));
    arbor.onApproval(() => ({ decision: "deny", reason: "no notes today" }));
    try {
      ran.length = 0;
      const { root } = await arbor.spawn({
        name: "notes",
        root: {
          name: "lead",
          kind: "parent",
          tools: { approve: ["note_*"] },
          model: { provider: "scripted", script: [{ text: "ok" }] },
          children: [
            {
              name: "scribe",
              kind: "child",
              tools: { allow: ["note_write"], approve: [] },
              model: {
                provider: "scripted",
                script: [{ toolCalls: [{ name: "note_write", args: { text: "hi" } }] }, { text: "{{tool}}" }],
              },
            },
          ],
        },
      } as never);
      const { output } = await arbor.ask(`${root}/scribe`, "write");
      expect(output).toContain("denied by operator: no notes today");
      expect(ran).toEqual([]);
      expect(events.filter((e) => e.type === "approval.decided")).toMatchObject([
        { decision: "deny", by: "operator", tool: "note_write" },
      ]);
    } finally {
      await arbor.close();
    }
  });
});

describe("the maxStepMs tripwire and a wait for a person", () => {
  it("a step whose call waits longer than maxStepMs for approval is not halted", async () => {
    const arbor = await createArbor({ customTools: [wipe] });
    const events: ArborEvent[] = [];
    arbor.onEvent((e) => events.push(e));
    arbor.onApproval(async () => {
      // A person who takes longer than the step may run.
      await new Promise((resolve) => setTimeout(resolve, 400));
      return { decision: "approve" };
    });
    try {
      const { root } = await arbor.spawn(
        caller("patient", [{ name: "wipe_cache", args: {} }], {
          tripwires: { maxStepMs: { limit: 150, action: "halt" } },
        }) as never,
      );
      const { output } = await arbor.ask(root, "wipe it");
      expect(output).toBe("done: wiped");
      expect(events.filter((e) => e.type === "tripwire.triggered")).toEqual([]);
    } finally {
      await arbor.close();
    }
  });
});

describe("approval ids", () => {
  it("are derived from tree, agent, request and call index, so a re-run finds its approval", () => {
    const id = approvalIdOf("t", "/t/a", "rq_1", 0);
    expect(approvalIdOf("t", "/t/a", "rq_1", 0)).toBe(id);
    expect(approvalIdOf("t", "/t/a", "rq_1", 1)).not.toBe(id);
    expect(approvalIdOf("t", "/t/a", "rq_2", 0)).not.toBe(id);
  });
});
