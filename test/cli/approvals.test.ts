/**
 * Approvals from the command line, as real processes: `arbor run --approve all|none` decides for
 * scripts, a run without a terminal and without `--approve` denies with a reason that says how to
 * allow it, and `arbor approvals --connect` lists and approves a call waiting on `arbor serve`.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArborClient } from "../../protocols/client/index.ts";
import { removeDataDir, seededDataDir } from "../support/seeded-data-dir.ts";

const exec = promisify(execFile);
const main = join(import.meta.dirname, "..", "..", "bin", "arbor.mjs");
const dir = mkdtempSync(join(tmpdir(), "arbor-cli-approvals-"));
// A copy of the created template: the server opens a database instead of creating one.
const env = {
  ...process.env,
  NO_COLOR: "1",
  ARBOR_TOKEN: "",
  ARBOR_DATA_DIR: seededDataDir("arbor-cli-approvals-data-"),
};
afterAll(() => removeDataDir(env.ARBOR_DATA_DIR));

const arbor = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await exec(process.execPath, [main, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

/** A config whose file tools work in `workspace`, and the example spec. */
const setup = (name: string) => {
  const workspace = join(dir, name);
  mkdirSync(workspace, { recursive: true });
  const config = join(dir, `${name}.config.json`);
  writeFileSync(config, JSON.stringify({ tools: { root: workspace }, server: { shutdownGraceMs: 200 } }));
  return { workspace, config };
};

const events = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("arbor run and approvals", () => {
  it("--approve none denies; the model reads the reason; nothing is written", async () => {
    const { workspace, config } = setup("none");
    const { code, stdout } = await arbor(
      "run",
      "examples/approval.json",
      "--config",
      config,
      "--approve",
      "none",
      "--json",
    );
    expect(code).toBe(0);
    const all = events(stdout);
    expect(all.find((e) => e.type === "approval.requested")).toMatchObject({ tool: "write_file" });
    expect(all.find((e) => e.type === "approval.decided")).toMatchObject({
      decision: "deny",
      by: "operator",
    });
    expect(all.at(-1)).toMatchObject({
      status: "completed",
      output: expect.stringContaining("--approve none"),
    });
    expect(existsSync(join(workspace, "release-note.md"))).toBe(false);
  });

  it("--approve all lets the call run", async () => {
    const { workspace, config } = setup("all");
    const { code } = await arbor(
      "run",
      "examples/approval.json",
      "--config",
      config,
      "--approve",
      "all",
      "--json",
    );
    expect(code).toBe(0);
    expect(readFileSync(join(workspace, "release-note.md"), "utf8")).toBe("v1.2: faster restarts");
  });

  it("without a terminal and without --approve, the call is denied with a reason that says how to allow it", async () => {
    const { workspace, config } = setup("no-tty");
    const { code, stdout } = await arbor("run", "examples/approval.json", "--config", config, "--json");
    expect(code).toBe(0);
    expect(events(stdout).at(-1)).toMatchObject({ output: expect.stringContaining("--approve all") });
    expect(existsSync(join(workspace, "release-note.md"))).toBe(false);
  });

  it("refuses an --approve value it does not know (exit 2)", async () => {
    const { code, stderr } = await arbor("run", "examples/approval.json", "--approve", "maybe");
    expect(code).toBe(2);
    expect(stderr).toContain("--approve takes all or none");
  });
});

describe("arbor approvals --connect", () => {
  let server: ChildProcess;
  let url = "";
  let workspace = "";
  beforeAll(async () => {
    const made = setup("served");
    workspace = made.workspace;
    server = spawn(process.execPath, [main, "serve", "--port", "0", "--json", "--config", made.config], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const first = await new Promise<string>((resolve) =>
      createInterface({ input: server.stdout! }).once("line", resolve),
    );
    url = (JSON.parse(first) as { url: string }).url;
  });
  afterAll(() => {
    server.kill("SIGKILL");
  });

  it("lists the waiting call and approves it; the tree's answer follows and the file exists", async () => {
    const client = await ArborClient.connect(url);
    try {
      const spec = JSON.parse(readFileSync("examples/approval.json", "utf8")) as { root: object };
      const { root } = await client.spawn({ ...spec, root: { ...spec.root, input: undefined } });
      const requested = new Promise<string>((resolve) => {
        void client.subscribe({ types: ["approval.requested"] }, (e) => {
          if (e.type === "approval.requested") resolve(e.approvalId);
        });
      });
      const answer = client.ask(root, "write it");
      const approvalId = await requested;

      const listed = await arbor("approvals", "list", "--connect", url, "--json");
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toMatchObject({
        approvals: [{ approvalId, tool: "write_file", args: { path: "release-note.md" } }],
      });
      const human = await arbor("approvals", "--connect", url);
      expect(human.stdout).toContain(`${approvalId}  write_file  ${root}`);

      const approved = await arbor("approvals", "approve", approvalId, "--connect", url);
      expect(approved).toMatchObject({ code: 0, stdout: `✓ approved ${approvalId}\n` });
      expect((await answer).output).toContain("The tool said:");
      expect(readFileSync(join(workspace, "release-note.md"), "utf8")).toBe("v1.2: faster restarts");

      const twice = await arbor("approvals", "deny", approvalId, "--connect", url);
      expect(twice.code).toBe(1);
      expect(twice.stderr).toContain("already decided");
    } finally {
      await client.close();
    }
  });
});
