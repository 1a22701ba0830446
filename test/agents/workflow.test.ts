/**
 * Workflows: validated with the spec (cycles, unknown steps and agents, early references refused by
 * path), run as asks with context passing, fan-out/fan-in, retries, conditions, optional steps and a
 * fail-fast stop; a planner's plan run as a DAG; the typed builder; and the example pipelines run by
 * the real `arbor run`.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { workflow } from "../../agents/workflow/builder.ts";
import { workflowsPlugin } from "../../agents/workflow/plugin.ts";
import { runWorkflow, type WorkflowResult } from "../../agents/workflow/run.ts";
import { createArbor } from "../../index.ts";
import { builtinHandlersPlugin } from "../../plugins/handlers/builtin.ts";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { ArborClient } from "../../protocols/client/index.ts";
import { workflowMethods } from "../../protocols/ws/extra/workflow.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import { SpecInvalid } from "../../runtime/errors.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { startRuntimeServer } from "../ws/runtime.ts";

const exec = promisify(execFile);

const scripted = (...script: ReadonlyArray<Record<string, unknown>>) => ({ provider: "scripted", script });
const child = (name: string, ...script: ReadonlyArray<Record<string, unknown>>) => ({
  name,
  kind: "child",
  model: scripted(...script),
});
const tree = (flow: unknown, children: ReadonlyArray<unknown>) => ({
  name: "flow",
  root: { name: "lead", kind: "parent", model: scripted({ text: "lead" }), children },
  workflow: flow,
});

/** Spawns `spec` with the workflows plugin and runs its workflow on `input`. */
const runSpec = (spec: unknown, input: string) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const system = yield* makeAgentSystem({
          plugins: [scriptedPlugin, builtinHandlersPlugin, workflowsPlugin],
        });
        const events: Array<ArborEvent> = [];
        system.events.listen((e) => events.push(e));
        const handle = yield* system.spawnTree(spec);
        const result = yield* runWorkflow(system, handle.treeId, input);
        return { result, events: events.filter((e) => e.type.startsWith("workflow.")) };
      }),
    ),
  );

/** The problems a spec is refused with. */
const problemsOf = (spec: unknown) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const system = yield* makeAgentSystem({ plugins: [scriptedPlugin, workflowsPlugin] });
        const result = yield* Effect.either(system.spawnTree(spec));
        if (Either.isRight(result)) throw new Error("the spec was accepted");
        expect(result.left).toBeInstanceOf(SpecInvalid);
        return (result.left as SpecInvalid).problems;
      }),
    ),
  );

describe("workflow validation", () => {
  const agents = [child("a", { text: "A" }), child("b", { text: "B" })];

  it("refuses a cycle, naming the steps on it by path", async () => {
    const problems = await problemsOf(
      tree(
        {
          steps: [
            { id: "x", agent: "a", dependsOn: ["z"] },
            { id: "y", agent: "b", dependsOn: ["x"] },
            { id: "z", agent: "a", dependsOn: ["y"] },
          ],
        },
        agents,
      ),
    );
    expect(problems).toEqual([{ path: "$.workflow.steps[0].dependsOn", message: "cycle: x → z → y → x" }]);
  });

  it("refuses unknown steps and agents with a suggestion, and references to steps that have not run", async () => {
    const problems = await problemsOf(
      tree(
        {
          steps: [
            { id: "research", agent: "a" },
            { id: "review", agent: "bb", dependsOn: ["reserch"] },
            { id: "sum", agent: "b", input: "{{steps.research.output}} {{steps.nope.output}} {{secret}}" },
          ],
        },
        agents,
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: "$.workflow.steps[1].agent", message: 'no agent "bb" in this tree; did you mean b?' },
        {
          path: "$.workflow.steps[1].dependsOn[0]",
          message: 'unknown step "reserch"; did you mean research?',
        },
      ]),
    );
    const fixed = await problemsOf(
      tree(
        {
          steps: [
            { id: "research", agent: "a" },
            { id: "sum", agent: "b", input: "{{steps.research.output}} {{steps.nope.output}} {{secret}}" },
          ],
        },
        agents,
      ),
    );
    expect(fixed.map((p) => p.message)).toEqual([
      '{{steps.research.output}} is not ready when this step runs: add "research" to its dependsOn',
      '{{steps.nope.output}}: unknown step "nope"',
      "{{secret}} names nothing: use {{input}} or {{steps.<id>.output}}",
    ]);
    expect(fixed.every((p) => p.path === "$.workflow.steps[1].input")).toBe(true);
  });

  it("is refused when no plugin runs workflows, rather than silently ignored", async () => {
    const result = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const system = yield* makeAgentSystem({ plugins: [scriptedPlugin] });
          return yield* Effect.flip(system.spawnTree(tree({ steps: [{ id: "x", agent: "a" }] }, agents)));
        }),
      ),
    );
    expect((result as SpecInvalid).problems).toEqual([
      { path: "$.workflow", message: "no plugin handles workflow: load workflowsPlugin" },
    ]);
  });
});

describe("running a workflow", () => {
  it("passes context between steps, fans out and in, and retries a failing step", async () => {
    const { result, events } = await runSpec(
      tree(
        {
          concurrency: 2,
          steps: [
            { id: "plan", agent: "planner" },
            {
              id: "research",
              agent: "researcher",
              input: "{{steps.plan.output}}",
              dependsOn: ["plan"],
              retry: { max: 2, backoffMs: 5 },
            },
            { id: "build", agent: "engineer", input: "{{steps.plan.output}}", dependsOn: ["plan"] },
            {
              id: "review",
              agent: "critic",
              input: "{{steps.research.output}} + {{steps.build.output}}",
              dependsOn: ["research", "build"],
            },
          ],
        },
        [
          child("planner", { text: "P({{input}})" }),
          child("researcher", { error: "flaky" }, { text: "R({{input}})" }),
          child("engineer", { text: "E({{input}})" }),
          child("critic", { text: "C({{input}})" }),
        ],
      ),
      "topic",
    );
    expect(result.status).toBe("completed");
    expect(result.output).toBe("C(R(P(topic)) + E(P(topic)))");
    expect(result.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
      ["plan", "completed", 1],
      ["research", "completed", 2],
      ["build", "completed", 1],
      ["review", "completed", 1],
    ]);
    const order = events
      .filter((e) => e.type === "workflow.step.completed")
      .map((e) => (e as { step: string }).step);
    expect(order[0]).toBe("plan");
    expect(order[3]).toBe("review");
    expect(events.filter((e) => e.type === "workflow.step.retried")).toMatchObject([
      { step: "research", attempt: 1, reason: expect.stringContaining("flaky") },
    ]);
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["workflow.started", "workflow.completed"]),
    );
  });

  it("skips a step whose condition fails and an optional step that fails; a required failure stops the rest", async () => {
    const skipping = await runSpec(
      tree(
        {
          steps: [
            { id: "check", agent: "a" },
            { id: "fix", agent: "b", dependsOn: ["check"], when: { step: "check", contains: "BROKEN" } },
            { id: "extra", agent: "c", optional: true },
          ],
          output: "{{steps.check.output}}/{{steps.fix.output}}/{{steps.extra.output}}",
        },
        [child("a", { text: "all fine" }), child("b", { text: "fixed" }), child("c", { error: "down" })],
      ),
      "go",
    );
    expect(skipping.result).toMatchObject({ status: "completed", output: "all fine//" });
    expect(skipping.result.steps.map((s) => s.status)).toEqual(["completed", "skipped", "skipped"]);

    const failing = await runSpec(
      tree(
        {
          steps: [
            { id: "first", agent: "a", retry: { max: 1, backoffMs: 1 } },
            { id: "after", agent: "b", dependsOn: ["first"] },
          ],
        },
        [child("a", { error: "always down" }), child("b", { text: "never" })],
      ),
      "go",
    );
    expect(failing.result).toMatchObject({
      status: "failed",
      reason: expect.stringMatching(/^step first failed after 2 attempts/),
    });
    expect(failing.result.steps.map((s) => s.status)).toEqual(["failed", "cancelled"]);
    expect(failing.events.map((e) => e.type)).toContain("workflow.failed");
  });

  it("runs at most `concurrency` steps at once; a required failure interrupts the steps still running", async () => {
    const limited = await runSpec(
      tree(
        {
          concurrency: 2,
          steps: ["a", "b", "c", "d"].map((id) => ({ id, agent: id })),
          output: "{{steps.a.output}}{{steps.b.output}}{{steps.c.output}}{{steps.d.output}}",
        },
        ["a", "b", "c", "d"].map((id) => child(id, { text: id.toUpperCase(), delayMs: 20 })),
      ),
      "go",
    );
    expect(limited.result).toMatchObject({ status: "completed", output: "ABCD" });
    let running = 0;
    let most = 0;
    for (const e of limited.events) {
      if (e.type === "workflow.step.started") most = Math.max(most, ++running);
      if (e.type === "workflow.step.completed") running--;
    }
    expect(most).toBe(2);

    const failing = await runSpec(
      tree(
        {
          steps: [
            { id: "slow", agent: "a" },
            { id: "broken", agent: "b" },
            { id: "after", agent: "c", dependsOn: ["slow"] },
          ],
        },
        [
          child("a", { text: "late", delayMs: 60_000 }),
          child("b", { error: "down" }),
          child("c", { text: "c" }),
        ],
      ),
      "go",
    );
    expect(failing.result).toMatchObject({
      status: "failed",
      reason: expect.stringMatching(/^step broken failed/),
    });
    expect(failing.result.steps.map((s) => s.status)).toEqual(["cancelled", "failed", "cancelled"]);
    expect(failing.events.map((e) => e.type)).not.toContain("workflow.step.completed");
  });

  it("runs a planner's plan as a DAG, asking again when the plan does not check out", async () => {
    const plan = JSON.stringify({
      steps: [
        { id: "one", agent: "w1" },
        { id: "two", agent: "w2", input: "{{steps.one.output}}", dependsOn: ["one"] },
      ],
    });
    const badPlan = JSON.stringify({ steps: [{ id: "one", agent: "ghost" }] });
    const { result, events } = await runSpec(
      tree({ steps: [{ id: "plan", agent: "planner", plan: true, retry: { max: 2, backoffMs: 1 } }] }, [
        child("planner", { text: badPlan }, { text: plan }),
        child("w1", { text: "ONE({{input}})" }),
        child("w2", { text: "TWO({{input}})" }),
      ]),
      "job",
    );
    expect(result).toMatchObject({ status: "completed", output: "TWO(ONE(job))" });
    expect(events.find((e) => e.type === "workflow.step.retried")).toMatchObject({
      reason: expect.stringContaining('$.plan.steps[0].agent: no agent "ghost"'),
    });
  });

  it("builds the same data with the typed builder", async () => {
    const flow = workflow({ concurrency: 1 })
      .step("draft", { agent: "a", input: "draft {{input}}" })
      .next("polish", { agent: "b", input: "polish {{steps.draft.output}}" })
      .build();
    expect(flow.steps[1]).toMatchObject({ id: "polish", dependsOn: ["draft"] });
    const { result } = await runSpec(
      tree(flow, [child("a", { text: "[{{input}}]" }), child("b", { text: "<{{input}}>" })]),
      "x",
    );
    expect(result.output).toBe("<polish [draft x]>");
  });
});

describe("workflow.run on the wire and createArbor", () => {
  it("runs a tenant's workflow and hides other tenants' trees", async () => {
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
      const spec = tree(
        {
          steps: [
            { id: "x", agent: "a" },
            { id: "y", agent: "b", input: "{{steps.x.output}}!", dependsOn: ["x"] },
          ],
        },
        [child("a", { text: "A({{input}})" }), child("b", { text: "B({{input}})" })],
      );
      const mine = await a.spawn(spec);
      const result = (await a.request("workflow.run", {
        treeId: mine.treeId,
        input: "in",
      })) as WorkflowResult;
      expect(result).toMatchObject({ status: "completed", output: "B(A(in)!)" });
      await expect(b.request("workflow.run", { treeId: mine.treeId, input: "in" })).rejects.toMatchObject({
        code: -32002,
      });
      const plain = await a.spawn({ name: "plain", root: { name: "m", kind: "micro", handler: "echo" } });
      await expect(a.request("workflow.run", { treeId: plain.treeId })).rejects.toMatchObject({
        code: -32602,
        data: { reason: "no_workflow" },
      });
    } finally {
      await a.close();
      await b.close();
      await running.close();
    }
  });

  it("createArbor runs a spec with a workflow built by the builder", async () => {
    const arbor = await createArbor();
    try {
      const flow = workflow()
        .step("draft", { agent: "writer", input: "{{input}}" })
        .next("check", { agent: "critic", input: "{{steps.draft.output}}" })
        .build();
      const summary = await arbor.run(
        {
          name: "built",
          root: {
            name: "lead",
            kind: "parent",
            model: { provider: "scripted", script: [{ text: "lead" }] },
            children: [
              {
                name: "writer",
                kind: "child",
                model: { provider: "scripted", script: [{ text: "draft of {{input}}" }] },
              },
              {
                name: "critic",
                kind: "child",
                role: "critic",
                model: { provider: "scripted", script: [{ text: "APPROVED {{input}}" }] },
              },
            ],
          },
          workflow: flow,
        },
        { input: "the memo" },
      );
      expect(summary).toMatchObject({ status: "completed", output: "APPROVED draft of the memo" });
    } finally {
      await arbor.close();
    }
  });
});

describe("the example pipelines with arbor run", () => {
  const arbor = (...args: string[]) =>
    exec("node", ["bin/arbor.mjs", ...args], { env: { ...process.env, NO_COLOR: "1" } }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => error,
    );

  it("research-pipeline: planner → (researcher ∥ engineer) → critic → summarizer, with a retry", async () => {
    const { code, stdout } = await arbor(
      "run",
      "examples/research-pipeline.yaml",
      "--input",
      "edge caching",
      "--json",
    );
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const completed = lines.filter((e) => e.type === "workflow.step.completed").map((e) => e.step);
    expect(completed[0]).toBe("plan");
    expect(new Set(completed.slice(1, 3))).toEqual(new Set(["research", "build"]));
    expect(completed.slice(3)).toEqual(["review", "summary"]);
    expect(lines.filter((e) => e.type === "workflow.step.retried")).toMatchObject([{ step: "research" }]);
    const summary = lines[lines.length - 1]!;
    expect(summary).toMatchObject({ type: "run.summary", status: "completed" });
    expect(summary.output).toMatch(/^SUMMARY: APPROVED: research=FINDINGS\(for PLAN\(.*edge caching/);
    expect(summary.output).toContain("build=PROTOTYPE(for PLAN(");
  });

  it("planner-dag: a refused plan is asked for again, then its DAG runs with a retried step", async () => {
    const { code, stdout } = await arbor("run", "examples/planner-dag.yaml", "--json");
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((e) => e.type === "workflow.step.retried").map((e) => e.step)).toEqual([
      "plan",
      "gather",
    ]);
    expect(lines[lines.length - 1]).toMatchObject({
      status: "completed",
      output: "REPORT[ANALYSIS(FIGURES(q3)) | CHART(FIGURES(q3))]",
    });
  });
});
