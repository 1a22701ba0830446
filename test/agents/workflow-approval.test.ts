/**
 * Approval steps of workflows: checked with the spec by path; a run waits for a person through the
 * runtime's approvals (the store, events and `approval.decide` tool calls use); approve runs the
 * gated branch, deny fails the step or (optional) skips it so the branch is not taken; the same
 * `runId` finds the same approval; over the wire a tenant decides its own and no other tenant sees it;
 * `arbor run --approve all|none` decides it.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Effect, Either, Fiber } from "effect";
import { describe, expect, it } from "vitest";
import { approvalStepTool } from "../../agents/workflow/approval-step.ts";
import { workflow } from "../../agents/workflow/builder.ts";
import { workflowsPlugin } from "../../agents/workflow/plugin.ts";
import { runWorkflow, type WorkflowResult } from "../../agents/workflow/run.ts";
import { builtinHandlersPlugin } from "../../plugins/handlers/builtin.ts";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { ArborClient } from "../../protocols/client/index.ts";
import { workflowMethods } from "../../protocols/ws/extra/workflow.ts";
import { type ArborRuntime, makeAgentSystem } from "../../runtime/agent-system.ts";
import type { ApprovalDecisionInput } from "../../runtime/approvals.ts";
import { SpecInvalid } from "../../runtime/errors.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { startRuntimeServer } from "../ws/runtime.ts";

const scripted = (...script: ReadonlyArray<Record<string, unknown>>) => ({ provider: "scripted", script });
const child = (name: string, text: string) => ({ name, kind: "child", model: scripted({ text }) });
const tree = (flow: unknown) => ({
  name: "gated",
  root: {
    name: "lead",
    kind: "parent",
    model: scripted({ text: "lead" }),
    children: [child("diagnose", "PROBLEM: cache full"), child("fix", "FIXED({{input}})")],
  },
  workflow: flow,
});

/** diagnose → ok (a person decides) → fix, taken only after a yes. */
const gated = (optional: boolean) =>
  workflow()
    .step("diagnose", { agent: "diagnose" })
    .approval("ok", { prompt: "Apply the fix? {{steps.diagnose.output}}", dependsOn: ["diagnose"], optional })
    .step("fix", {
      agent: "fix",
      input: "{{steps.diagnose.output}}",
      dependsOn: ["ok"],
      when: { step: "ok", matches: "^approved" },
    })
    .build();

type Decider = (event: Extract<ArborEvent, { type: "approval.requested" }>) => ApprovalDecisionInput;

/** Runs `spec`'s workflow; each approval request is answered by `decide` (none: left to the timeout). */
const runGated = (spec: unknown, decide: Decider | undefined, config: Record<string, unknown> = {}) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const system = yield* makeAgentSystem({
          plugins: [scriptedPlugin, builtinHandlersPlugin, workflowsPlugin],
          config,
        });
        const events: Array<ArborEvent> = [];
        system.events.listen((e) => {
          events.push(e);
          if (e.type === "approval.requested" && decide !== undefined)
            Effect.runFork(system.approvals.decide(e.approvalId, decide(e), "operator"));
        });
        const handle = yield* system.spawnTree(spec);
        const result = yield* runWorkflow(system, handle.treeId, "check");
        return { result, events, pending: system.approvals.list() };
      }),
    ),
  );

/** The problems a runtime with workflows finds in `spec`, which it must refuse. */
const refusal = (spec: Parameters<ArborRuntime["spawnTree"]>[0]) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const system = yield* makeAgentSystem({ plugins: [scriptedPlugin, workflowsPlugin] });
        const spawned = yield* Effect.either(system.spawnTree(spec));
        if (Either.isRight(spawned)) throw new Error("the spec was accepted");
        expect(spawned.left).toBeInstanceOf(SpecInvalid);
        return (spawned.left as SpecInvalid).problems;
      }),
    ),
  );

describe("approval steps in the spec", () => {
  it("refuses an approval step with an agent, a bad reference in its prompt, and a step that is neither", async () => {
    const problems = await refusal(
      tree({
        steps: [
          { id: "diagnose", agent: "diagnose" },
          { id: "ok", agent: "fix", approval: { prompt: "Fix? {{steps.diagnose.output}}" } },
          {
            id: "ok2",
            approval: { prompt: "Fix? {{steps.diagnos.output}}" },
            dependsOn: ["diagnose"],
          },
          { id: "lost" },
        ],
      }),
    );
    expect(problems).toEqual([
      {
        path: "$.workflow.steps[1].agent",
        message: expect.stringContaining("approval step waits for a person"),
      },
      { path: "$.workflow.steps[3].agent", message: expect.stringContaining("names the agent it asks") },
    ]);
    // Shape problems come first; with those fixed, the prompt's reference is checked by path too.
    const later = await refusal(
      tree({
        steps: [
          { id: "diagnose", agent: "diagnose" },
          { id: "ok", approval: { prompt: "Fix? {{steps.diagnos.output}}" }, dependsOn: ["diagnose"] },
        ],
      }),
    );
    expect(later).toEqual([
      {
        path: "$.workflow.steps[1].approval.prompt",
        message: expect.stringContaining('unknown step "diagnos"'),
      },
    ]);
  });
});

describe("running an approval step", () => {
  it("waits for a person, then runs the gated step after approve", async () => {
    const { result, events, pending } = await runGated(tree(gated(false)), () => ({
      decision: "approve",
      reason: "go ahead",
    }));
    expect(result).toMatchObject({ status: "completed", output: "FIXED(PROBLEM: cache full)" });
    expect(result.steps.find((s) => s.id === "ok")).toMatchObject({
      status: "completed",
      output: "approved: go ahead",
    });
    const requested = events.find((e) => e.type === "approval.requested");
    expect(requested).toMatchObject({
      tool: approvalStepTool,
      args: { step: "ok", prompt: "Apply the fix? PROBLEM: cache full" },
    });
    const types = events.filter((e) => e.type.startsWith("workflow.step.") || e.type.startsWith("approval."));
    const order = types.map((e) => `${e.type}${"step" in e ? ` ${e.step}` : ""}`);
    // The fix starts only after the decision.
    expect(order.indexOf("approval.decided")).toBeLessThan(order.indexOf("workflow.step.started fix"));
    expect(order).toContain("workflow.step.waiting ok");
    expect(pending).toEqual([]);
  });

  it("does not take the gated branch after deny (optional), and fails the workflow when required", async () => {
    const skipped = await runGated(tree(gated(true)), () => ({ decision: "deny", reason: "not now" }));
    expect(skipped.result.status).toBe("completed");
    expect(skipped.result.steps.map((s) => [s.id, s.status, s.output])).toEqual([
      ["diagnose", "completed", "PROBLEM: cache full"],
      ["ok", "skipped", "denied: not now"],
      ["fix", "skipped", ""],
    ]);
    expect(skipped.events.some((e) => e.type === "workflow.step.started" && e.step === "fix")).toBe(false);

    const failed = await runGated(tree(gated(false)), () => ({ decision: "deny" }));
    expect(failed.result).toMatchObject({ status: "failed", reason: "step ok denied by operator" });
    expect(failed.result.steps.find((s) => s.id === "fix")?.status).toBe("cancelled");
  });

  it("is denied at approvals.timeoutMs when nobody decides", async () => {
    const { result, events } = await runGated(tree(gated(true)), undefined, { approvals: { timeoutMs: 20 } });
    expect(result.steps.find((s) => s.id === "ok")).toMatchObject({
      status: "skipped",
      output: "denied: no decision within 20 ms",
      reason: "denied by timeout: no decision within 20 ms",
    });
    expect(result.steps.find((s) => s.id === "fix")?.status).toBe("skipped");
    expect(events.find((e) => e.type === "approval.decided")).toMatchObject({
      decision: "deny",
      by: "timeout",
    });
  });

  it("finds the same approval when the workflow runs again with the same runId", async () => {
    const outcome = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const system = yield* makeAgentSystem({
            plugins: [scriptedPlugin, builtinHandlersPlugin, workflowsPlugin],
          });
          const requested: string[] = [];
          system.events.listen((e) => {
            if (e.type === "approval.requested") requested.push(e.approvalId);
          });
          const handle = yield* system.spawnTree(tree(gated(false)));
          // The first run waits, then is cut off (a lost connection): its approval stays listed.
          const first = yield* Effect.fork(runWorkflow(system, handle.treeId, "check", { runId: "r1" }));
          while (system.approvals.list().length === 0) yield* Effect.yieldNow();
          yield* Fiber.interrupt(first);
          const [waiting] = system.approvals.list();
          const second = yield* Effect.fork(runWorkflow(system, handle.treeId, "check", { runId: "r1" }));
          yield* Effect.yieldNow();
          yield* system.approvals.decide(waiting!.approvalId, { decision: "approve" }, "operator");
          const result = yield* Fiber.join(second);
          return { result, requested, waiting };
        }),
      ),
    );
    expect(outcome.requested).toEqual([outcome.waiting!.approvalId]);
    expect(outcome.result).toMatchObject({ status: "completed", output: "FIXED(PROBLEM: cache full)" });
  });
});

describe("approval steps over the wire", () => {
  it("workflow.run waits until its tenant decides with approval.decide; another tenant sees nothing", async () => {
    const tokenA = "token-for-tenant-a-0123456789";
    const tokenB = "token-for-tenant-b-0123456789";
    const running = await startRuntimeServer(
      {
        tokens: [
          { token: tokenA, tenant: "a" },
          { token: tokenB, tenant: "b" },
        ],
      },
      {},
      [workflowsPlugin],
      (system) => workflowMethods(system),
    );
    const a = await ArborClient.connect(running.url, { token: tokenA });
    const b = await ArborClient.connect(running.url, { token: tokenB });
    try {
      const mine = await a.spawn(tree(gated(true)));
      const requested = new Promise<string>((resolve) => {
        void a.subscribe({ types: ["workflow.step.waiting"] }, (event) => {
          if (event.type === "workflow.step.waiting") resolve(event.approvalId);
        });
      });
      const run = a.request("workflow.run", {
        treeId: mine.treeId,
        input: "check",
      }) as Promise<WorkflowResult>;
      const approvalId = await requested;
      expect(await a.approvals()).toMatchObject([
        { approvalId, tool: approvalStepTool, args: { prompt: "Apply the fix? PROBLEM: cache full" } },
      ]);
      expect(await b.approvals()).toEqual([]);
      await expect(b.decide(approvalId, { decision: "approve" })).rejects.toMatchObject({
        data: { reason: "approval_not_found" },
      });
      expect(await a.decide(approvalId, { decision: "approve" })).toMatchObject({ by: "a" });
      expect(await run).toMatchObject({ status: "completed", output: "FIXED(PROBLEM: cache full)" });
    } finally {
      await a.close();
      await b.close();
      await running.close();
    }
  });
});

describe("approval steps with arbor run", () => {
  const arborRun = async (...flags: string[]) => {
    const file = join(mkdtempSync(join(tmpdir(), "arbor-gate-")), "gated.json");
    writeFileSync(file, JSON.stringify(tree(gated(false))));
    return promisify(execFile)(
      "node",
      ["bin/arbor.mjs", "run", file, "--input", "check", "--json", ...flags],
      {
        env: { ...process.env, NO_COLOR: "1" },
      },
    ).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => error,
    );
  };
  const last = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>;

  it("--approve all runs the gated step; --approve none fails the workflow at the approval", async () => {
    const approved = await arborRun("--approve", "all");
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain('"type":"workflow.step.waiting"');
    expect(last(approved.stdout)).toMatchObject({
      status: "completed",
      output: "FIXED(PROBLEM: cache full)",
    });

    const denied = await arborRun("--approve", "none");
    expect(denied.code).toBe(1);
    expect(last(denied.stdout)).toMatchObject({ status: "failed" });
    expect(String(last(denied.stdout).reason)).toContain("step ok denied by operator: --approve none");
    expect(denied.stdout).not.toContain('"step":"fix","attempt"');
  });
});

describe("an approval step's prompt", () => {
  it("reaches people through the root's output guardrails: an email in the run's input is redacted", async () => {
    const leaky = {
      name: "leaky",
      root: {
        name: "lead",
        kind: "parent",
        guardrails: { pii: "always" },
        model: scripted({ text: "lead" }),
        children: [child("diagnose", "PROBLEM: cache full"), child("fix", "FIXED")],
      },
      workflow: workflow()
        .step("diagnose", { agent: "diagnose" })
        .approval("ok", {
          prompt: "Apply the fix for {{input}}? {{steps.diagnose.output}}",
          dependsOn: ["diagnose"],
        })
        .build(),
    };
    const { guardrailsPlugin } = await import("../../plugins/guardrails/plugin.ts");
    const seen = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const system = yield* makeAgentSystem({
            plugins: [scriptedPlugin, builtinHandlersPlugin, guardrailsPlugin, workflowsPlugin],
          });
          const events: Array<ArborEvent> = [];
          system.events.listen((e) => {
            events.push(e);
            if (e.type === "approval.requested")
              Effect.runFork(system.approvals.decide(e.approvalId, { decision: "approve" }, "operator"));
          });
          const handle = yield* system.spawnTree(leaky);
          const result = yield* runWorkflow(system, handle.treeId, "ada@example.com");
          return { result, events };
        }),
      ),
    );
    expect(seen.result.status).toBe("completed");
    const requested = seen.events.find((e) => e.type === "approval.requested") as {
      args: { prompt: string };
    };
    const waiting = seen.events.find((e) => e.type === "workflow.step.waiting") as { prompt: string };
    for (const shown of [requested.args.prompt, waiting.prompt]) {
      expect(shown).toMatch(/^Apply the fix for .+\? PROBLEM: cache full$/);
      expect(shown).not.toContain("ada@example.com");
    }
  });
});
