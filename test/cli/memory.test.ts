import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const exec = promisify(execFile);

describe("arbor run --memory", () => {
  it("gives agents the memory tools on the embedded store, and what they remember survives the run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arbor-memory-"));
    const spec = (script: unknown[]) => {
      const file = join(dir, `spec-${script.length}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          name: "mem",
          root: { name: "lead", kind: "child", input: "go", model: { provider: "scripted", script } },
        }),
      );
      return file;
    };
    const env = { ...process.env, ARBOR_DATA_DIR: join(dir, "data") };
    const remember = spec([
      {
        toolCalls: [
          { name: "memory.remember", args: { entity: "user:ada", attribute: "city", value: "Lisbon" } },
        ],
      },
      { text: "noted: {{tool}}" },
    ]);
    const first = await exec("node", ["bin/arbor.mjs", "run", remember, "--memory", "--json"], { env });
    expect(first.stdout).toMatch(/"type":"tool.result","tree":"mem".*"tool":"memory.remember".*"ok":true/);
    // A second run, a new process: the fact is still there.
    const recall = spec([
      { toolCalls: [{ name: "memory.recall", args: { entity: "user:ada" } }] },
      { text: "recalled {{tool}}" },
      { text: "-" },
    ]);
    const second = await exec("node", ["bin/arbor.mjs", "run", recall, "--memory", "--json"], { env });
    const summary = JSON.parse(second.stdout.trim().split("\n").at(-1)!) as {
      status: string;
      output: string;
    };
    expect(summary.status).toBe("completed");
    expect(summary.output).toMatch(/"attribute":"city","value":"Lisbon"/);
  }, 60_000);
});
