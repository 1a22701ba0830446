/**
 * A workflow's approval step on a durable tree (the embedded PGlite store): the pending approval is
 * kept with the root's state, comes back after a restart, can be decided then, and the workflow run
 * again with its `runId` takes that decision — no second request — and runs the gated step once.
 */
import { Effect, Fiber } from "effect";
import { expect, it } from "vitest";
import { workflow } from "../../agents/workflow/builder.ts";
import { workflowsPlugin } from "../../agents/workflow/plugin.ts";
import { runWorkflow } from "../../agents/workflow/run.ts";
import { startRuntime, stored, until, useDurableStore } from "./durable-support.ts";

const kept = useDurableStore();
const startDurable = () => startRuntime(kept.store, [workflowsPlugin]);

const child = (name: string, text: string) => ({
  name,
  kind: "child",
  model: { provider: "scripted", script: [{ text }] },
});

const spec = {
  name: "gate",
  durable: true,
  root: {
    name: "lead",
    kind: "parent",
    model: { provider: "scripted", script: [{ text: "lead" }] },
    children: [child("diagnose", "PROBLEM: cache full"), child("fix", "FIXED({{input}})")],
  },
  workflow: workflow()
    .step("diagnose", { agent: "diagnose" })
    .approval("ok", { prompt: "Apply the fix? {{steps.diagnose.output}}", dependsOn: ["diagnose"] })
    .next("fix", { agent: "fix", input: "{{steps.diagnose.output}}" })
    .build(),
};

it("a workflow's pending approval outlives a restart, is decided after it, and the run with its runId goes on", async () => {
  const first = await startDurable();
  await first.run(first.system.spawnTree(spec));
  const running = Effect.runFork(runWorkflow(first.system, "gate", "check", { runId: "run-9" }));
  await until(() => first.system.approvals.list().length === 1);
  const { approvalId } = first.system.approvals.list()[0]!;
  await until(() =>
    stored(
      kept.sql,
      "SELECT 1 FROM arbor_durable_agents WHERE tree_id = 'gate' AND address = '/gate/lead' AND state ? 'approvals'",
    ),
  );
  await first.close();
  await Effect.runPromise(Fiber.await(running));

  const second = await startDurable();
  await second.run(second.system.resumeDurable());
  expect(second.system.approvals.list()).toMatchObject([
    {
      approvalId,
      tool: "workflow.approval",
      args: { step: "ok", prompt: "Apply the fix? PROBLEM: cache full" },
    },
  ]);
  await second.run(second.system.approvals.decide(approvalId, { decision: "approve" }, "operator"));
  const result = await second.run(runWorkflow(second.system, "gate", "check", { runId: "run-9" }));
  expect(result).toMatchObject({ status: "completed", output: "FIXED(PROBLEM: cache full)" });
  expect(second.events.filter((e) => e.type === "approval.requested")).toEqual([]);
  expect(second.events.filter((e) => e.type === "agent.task" && e.address === "/gate/lead/fix")).toHaveLength(
    1,
  );
  await second.run(second.system.stopTree("gate"));
  await second.close();
});
