/**
 * The system-health example end to end in process: diagnostic agents read this machine's signals
 * through the system.* tools, record each finding in memory as a fact about the host, and the triage
 * micro agent turns the findings into repairs.
 */
import { Effect } from "effect";
import { expect, it, onTestFinished } from "vitest";
import { makeRolesPlugin } from "../../agents/roles/plugin.ts";
import { workflowsPlugin } from "../../agents/workflow/plugin.ts";
import { runWorkflow } from "../../agents/workflow/run.ts";
import { builtinHandlersPlugin } from "../../plugins/handlers/builtin.ts";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { makeToolsPlugin } from "../../plugins/tools/plugin.ts";
import { lateModelRouter, openMemory } from "../../protocols/memory.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import { loadSpecFile } from "../../runtime/spec/load.ts";
import { removeDataDir, seededDataDir } from "../support/seeded-data-dir.ts";

it("records real measurements of this host as facts and triages the problems into repairs", {
  timeout: 120_000,
}, async () => {
  const dataDir = seededDataDir("arbor-health-");
  onTestFinished(() => removeDataDir(dataDir));
  const { result, facts } = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const memory = yield* openMemory(
          { dataDir },
          lateModelRouter(() => undefined),
        );
        const system = yield* makeAgentSystem({
          plugins: [
            scriptedPlugin,
            builtinHandlersPlugin,
            makeToolsPlugin({ root: "examples/system-health/workspace" }),
            makeRolesPlugin(),
            workflowsPlugin,
            memory.plugin,
          ],
        });
        const spec = yield* loadSpecFile("examples/system-health/system-health.yaml");
        const handle = yield* system.spawnTree(spec);
        const result = yield* runWorkflow(system, handle.treeId, "check this host");
        const recalled = yield* memory.knowledge.recall({ entity: "host:local" });
        return { result, facts: new Map(recalled.facts.map((f) => [f.attribute, f.value])) };
      }),
    ),
  );
  expect(result.status).toBe("completed");
  expect(result.output).toBe(
    "repair: the log reports write failures (no space left on device); clear the cache folder",
  );
  expect([...facts.keys()].sort()).toEqual(["cache_disk", "load", "log_errors", "memory"]);
  expect(JSON.parse(String(facts.get("cache_disk")))).toMatchObject({ path: "cache", bytes: 6144, files: 2 });
  expect(JSON.parse(String(facts.get("memory"))).totalBytes).toBeGreaterThan(0);
  expect(String(facts.get("log_errors")).split("\n")).toHaveLength(2);
});
