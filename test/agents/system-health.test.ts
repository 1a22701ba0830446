/**
 * The system-health example end to end: diagnostic agents read this machine's signals through the
 * system.* tools, record each finding in memory as a fact about the host, the triage micro agent
 * turns the findings into repairs, and the repair micro agent's `system.clear` of the cache folder
 * waits for a person — it runs after approve and not after deny. In process, and with the real
 * `arbor run` (`--approve all`, and the refusal without a terminal). Each run works on a copy of the
 * example's workspace, since an approved repair empties its cache folder.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Effect } from "effect";
import { describe, expect, it, onTestFinished } from "vitest";
import { makeRolesPlugin } from "../../agents/roles/plugin.ts";
import { workflowsPlugin } from "../../agents/workflow/plugin.ts";
import { runWorkflow } from "../../agents/workflow/run.ts";
import { builtinHandlersPlugin } from "../../plugins/handlers/builtin.ts";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { makeToolsPlugin } from "../../plugins/tools/plugin.ts";
import { lateModelRouter, openMemory } from "../../protocols/memory.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import type { ApprovalDecisionInput } from "../../runtime/approvals.ts";
import { loadSpecFile } from "../../runtime/spec/load.ts";
import { removeDataDir, seededDataDir } from "../support/seeded-data-dir.ts";

const exec = promisify(execFile);
const spec = "examples/system-health/system-health.yaml";

/** A fresh copy of the example's workspace (app.log and a cache folder with two files). */
const workspace = () => {
  const dir = mkdtempSync(join(tmpdir(), "arbor-health-"));
  cpSync("examples/system-health/workspace", join(dir, "workspace"), { recursive: true });
  return dir;
};

/** Every file below `folder`. */
const filesIn = (folder: string): ReadonlyArray<string> =>
  readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();

/** Runs the example in process; each approval request is answered by `decision`. */
const runHealth = (decision: ApprovalDecisionInput) => {
  const dir = workspace();
  const root = join(dir, "workspace");
  const dataDir = seededDataDir("arbor-health-data-");
  onTestFinished(() => removeDataDir(dataDir));
  return Effect.runPromise(
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
            makeToolsPlugin({ root }),
            makeRolesPlugin(),
            workflowsPlugin,
            memory.plugin,
          ],
        });
        const requests: Array<{ tool: string; address: string; cacheWhileWaiting: ReadonlyArray<string> }> =
          [];
        system.events.listen((e) => {
          if (e.type !== "approval.requested") return;
          requests.push({
            tool: e.tool,
            address: e.address,
            cacheWhileWaiting: filesIn(join(root, "cache")),
          });
          Effect.runFork(system.approvals.decide(e.approvalId, decision, "operator"));
        });
        const loaded = (yield* loadSpecFile(spec)) as { root: object };
        // Like `arbor run`: root.input is the workflow's input, not a task the root starts with.
        const handle = yield* system.spawnTree({ ...loaded, root: { ...loaded.root, input: undefined } });
        const result = yield* runWorkflow(system, handle.treeId, "check this host");
        const recalled = yield* memory.knowledge.recall({ entity: "host:local" });
        const facts = new Map(recalled.facts.map((f) => [f.attribute, f.value]));
        return { result, facts, requests, cacheAfter: filesIn(join(root, "cache")) };
      }),
    ),
  );
};

const triaged = "repair: the log reports write failures (no space left on device); clear the cache folder";

describe("system-health in process", () => {
  it("records real measurements as facts, and clears the cache only once a person approves", async () => {
    const { result, facts, requests, cacheAfter } = await runHealth({ decision: "approve" });
    expect(result.status).toBe("completed");
    // The repair waited: the cache was still whole while the request was pending.
    expect(requests).toEqual([
      { tool: "system.clear", address: "/health/doctor/cleaner", cacheWhileWaiting: ["a.bin", "b.bin"] },
    ]);
    expect(result.output).toBe(
      `${triaged}\ncache: ${JSON.stringify({ path: "cache", removedFiles: 2, freedBytes: 6144 })}`,
    );
    expect(cacheAfter).toEqual([]);
    expect([...facts.keys()].sort()).toEqual(["cache_disk", "load", "log_errors", "memory"]);
    expect(JSON.parse(String(facts.get("cache_disk")))).toMatchObject({
      path: "cache",
      bytes: 6144,
      files: 2,
    });
    expect(JSON.parse(String(facts.get("memory"))).totalBytes).toBeGreaterThan(0);
    expect(String(facts.get("log_errors")).split("\n")).toHaveLength(2);
  });

  it("leaves the cache alone when the person denies, and the repair reports why", async () => {
    const { result, requests, cacheAfter } = await runHealth({
      decision: "deny",
      reason: "not during business hours",
    });
    expect(result.status).toBe("completed");
    expect(requests.map((r) => r.tool)).toEqual(["system.clear"]);
    expect(cacheAfter).toEqual(["a.bin", "b.bin"]);
    const repair = result.steps.find((s) => s.id === "repair")!.output;
    expect(repair).toMatch(/^cache: .*denied/);
    expect(repair).toContain("not during business hours");
  });
});

describe("system-health with arbor run", () => {
  /** `arbor run` of the example on a copy of its workspace, with memory in the copy; stdin is not a terminal. */
  const arborRun = (...flags: string[]) => {
    const dir = workspace();
    const config = join(dir, "arbor.config.json");
    const dataDir = seededDataDir("arbor-health-cli-data-");
    onTestFinished(() => removeDataDir(dataDir));
    writeFileSync(
      config,
      JSON.stringify({
        tools: { root: join(dir, "workspace") },
        knowledge: { dataDir },
      }),
    );
    return exec("node", ["bin/arbor.mjs", "run", spec, "--config", config, "--memory", "--json", ...flags], {
      env: { ...process.env, NO_COLOR: "1" },
    }).then(
      ({ stdout }) => ({ code: 0, stdout, cache: join(dir, "workspace", "cache") }),
      (error: { code: number; stdout: string }) => ({ ...error, cache: join(dir, "workspace", "cache") }),
    );
  };
  const linesOf = (stdout: string) =>
    stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it("--approve all: the repair waits for its approval, then clears the cache", async () => {
    const { code, stdout, cache } = await arborRun("--approve", "all");
    expect(code).toBe(0);
    const lines = linesOf(stdout);
    const types = lines.map((e) => `${e.type}${e.tool ? ` ${e.tool}` : ""}`);
    // The clear ran only after its approval was decided.
    expect(types.indexOf("approval.requested system.clear")).toBeGreaterThanOrEqual(0);
    expect(types.indexOf("approval.requested system.clear")).toBeLessThan(
      types.indexOf("approval.decided system.clear"),
    );
    expect(types.indexOf("approval.decided system.clear")).toBeLessThan(
      types.indexOf("tool.result system.clear"),
    );
    expect(lines.find((e) => e.type === "approval.decided")).toMatchObject({ decision: "approve" });
    expect(lines[lines.length - 1]).toMatchObject({ type: "run.summary", status: "completed" });
    expect(String(lines[lines.length - 1]!.output)).toContain('"removedFiles":2');
    expect(existsSync(cache) && filesIn(cache)).toEqual([]);
  });

  it("without a terminal and without --approve, the clear is refused and the cache stays", async () => {
    const { code, stdout, cache } = await arborRun();
    expect(code).toBe(0);
    const lines = linesOf(stdout);
    expect(lines.find((e) => e.type === "approval.decided")).toMatchObject({ decision: "deny" });
    expect(String(lines[lines.length - 1]!.output)).toMatch(/--approve/);
    expect(filesIn(cache)).toEqual(["a.bin", "b.bin"]);
  });
});
