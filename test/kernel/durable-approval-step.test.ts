/**
 * A workflow's approval step on a durable tree (the embedded PGlite store): the pending approval is
 * kept with the root's state, comes back after a restart, can be decided then, and the workflow run
 * again with its `runId` takes that decision — no second request — and runs the gated step once.
 */
import { Effect, Exit, Fiber, Scope } from "effect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { workflow } from "../../agents/workflow/builder.ts";
import { workflowsPlugin } from "../../agents/workflow/plugin.ts";
import { runWorkflow } from "../../agents/workflow/run.ts";
import { makeSqlDurableStore } from "../../knowledge/durable-store-sql.ts";
import { SqlClient, type SqlClientService } from "../../knowledge/sql-client.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import type { DurableStore } from "../../runtime/durable/store.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { pgliteAdapter, runtimeOf, type SqlAdapter } from "../knowledge/support.ts";
import { basePlugins } from "./support.ts";

let adapter: SqlAdapter;
let sql: SqlClientService;
let store: DurableStore;
let db: ReturnType<typeof runtimeOf<SqlClient, unknown>>;

beforeAll(async () => {
  adapter = await pgliteAdapter();
  db = runtimeOf(adapter.layer);
  sql = await db.run(SqlClient);
  store = await db.run(makeSqlDurableStore);
});
afterAll(async () => {
  await db.dispose();
  await adapter.close();
});

/** A runtime on the shared store, in its own scope (closing it is a graceful shutdown). */
const startRuntime = async () => {
  const scope = Effect.runSync(Scope.make());
  const events: ArborEvent[] = [];
  const system = await Effect.runPromise(
    makeAgentSystem({ plugins: [...basePlugins, workflowsPlugin], durable: { store } }).pipe(
      Scope.extend(scope),
    ),
  );
  system.events.listen((e) => events.push(e));
  return {
    system,
    events,
    run: <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void)),
  };
};

const until = async (check: () => Promise<boolean> | boolean) => {
  while (!(await check())) await new Promise((r) => setTimeout(r, 5));
};

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
  const first = await startRuntime();
  await first.run(first.system.spawnTree(spec));
  const running = Effect.runFork(runWorkflow(first.system, "gate", "check", { runId: "run-9" }));
  await until(() => first.system.approvals.list().length === 1);
  const { approvalId } = first.system.approvals.list()[0]!;
  await until(async () => {
    const rows = await Effect.runPromise(
      sql.query(
        "SELECT 1 FROM arbor_durable_agents WHERE tree_id = 'gate' AND address = '/gate/lead' AND state ? 'approvals'",
      ),
    );
    return rows.length > 0;
  });
  await first.close();
  await Effect.runPromise(Fiber.await(running));

  const second = await startRuntime();
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
