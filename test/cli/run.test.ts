import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const exec = promisify(execFile);

/** Runs the real `arbor` binary; resolves with exit code and output even when it fails. */
const arbor = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await exec("node", ["bin/arbor.mjs", ...args], {
      env: { ...process.env, NO_COLOR: "1" },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("arbor run", () => {
  it("crash-once: shows the failure, the restart and a completed root, ending with a summary (exit 0)", async () => {
    const { code, stdout } = await arbor("run", "examples/crash-once.json", "--json");
    expect(code).toBe(0);
    const events = jsonLines(stdout);
    const types = events.map((e) => e.type);
    expect(types.indexOf("agent.failed")).toBeGreaterThan(-1);
    expect(types.indexOf("agent.restarted")).toBeGreaterThan(types.indexOf("agent.failed"));
    expect(events.find((e) => e.type === "agent.failed")).toMatchObject({
      address: "/crash-once/lead/worker",
      reason: "boom",
    });
    expect(events.at(-1)).toMatchObject({
      type: "run.summary",
      status: "completed",
      output: "Summary ready.",
      restarts: 1,
      liveAgents: 0,
      runningFibers: 0,
    });
  });

  it("escalation: the tree stops with the reason and the exit code is 1", async () => {
    const { code, stdout } = await arbor("run", "examples/escalation.yaml", "--json");
    expect(code).toBe(1);
    const summary = jsonLines(stdout).at(-1)!;
    expect(summary).toMatchObject({ type: "run.summary", status: "failed", output: null, liveAgents: 0 });
    expect(String(summary.reason)).toMatch(/restart intensity exceeded/);
  });

  it("--input gives the root its task; the human output shows the answer", async () => {
    const { code, stdout } = await arbor("run", "examples/demo.json", "--input", "Plan a weekend in Porto");
    expect(code).toBe(0);
    expect(stdout).toMatch(/✓ completed/);
    expect(stdout).toMatch(/Plan a weekend in Porto/);
    expect(stdout).toMatch(/\[researcher\] Found 3 neighbourhoods/);
  });

  it("an MCP tool from server-everything: the call and its result are in the events", async () => {
    const { code, stdout } = await arbor(
      "run",
      "examples/mcp/echo.json",
      "--config",
      "examples/mcp/arbor.config.json",
      "--json",
    );
    expect(code).toBe(0);
    const events = jsonLines(stdout);
    expect(events.find((e) => e.type === "tool.called")).toMatchObject({
      tool: "mcp.everything.echo",
      args: { message: "hello from Arbor" },
    });
    expect(events.find((e) => e.type === "tool.result")).toMatchObject({
      tool: "mcp.everything.echo",
      ok: true,
      result: "Echo: hello from Arbor",
    });
    expect(events.at(-1)).toMatchObject({
      status: "completed",
      output: "The MCP server answered: Echo: hello from Arbor",
    });
  });

  it("an email in the input is redacted before the model sees it", async () => {
    const { code, stdout } = await arbor("run", "examples/pii.json", "--json");
    expect(code).toBe(0);
    expect(stdout).not.toMatch(/"output":"[^"]*ada\.lovelace@example\.com/);
    const events = jsonLines(stdout);
    expect(events.find((e) => e.type === "guardrail.redacted")).toMatchObject({
      stage: "input",
      policy: "pii",
      redactions: [{ kind: "email", count: 1 }],
    });
    expect(events.at(-1)).toMatchObject({
      status: "completed",
      output: "The model saw: Write to [EMAIL] about the invoice",
    });
  });

  it("a step slower than maxStepMs trips the tripwire; with halt the supervisor restarts the worker", async () => {
    const { code, stdout } = await arbor("run", "examples/slow-step.json", "--json");
    expect(code).toBe(0);
    const events = jsonLines(stdout);
    expect(events.find((e) => e.type === "tripwire.triggered")).toMatchObject({
      address: "/slow-step/lead/worker",
      tripwire: "maxStepMs",
      threshold: 200,
      action: "halt",
    });
    expect(events.find((e) => e.type === "agent.restarted")).toMatchObject({
      address: "/slow-step/lead/worker",
    });
    expect(events.at(-1)).toMatchObject({ status: "completed", restarts: 1 });
  });

  it("an invalid spec is refused with every problem by JSON path (exit 2)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arbor-"));
    const file = join(dir, "bad.json");
    writeFileSync(
      file,
      JSON.stringify({
        name: "bad",
        root: {
          name: "x",
          kind: "boss",
          children: [
            { name: "m", kind: "micro" },
            { name: "m", kind: "micro" },
          ],
        },
      }),
    );
    const { code, stderr } = await arbor("run", file);
    expect(code).toBe(2);
    expect(stderr).toMatch(/\$\.root\.kind: expected one of "parent", "child", "micro"; got "boss"/);
    expect(stderr).toMatch(/\$\.root\.children\[1\]\.name: duplicate sibling name "m"/);
  });

  it("a spec nested 5,000 agents deep, in JSON or YAML, is refused with exit 2 and no stack trace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arbor-"));
    let agent = '{"name":"m","kind":"micro","handler":"echo"}';
    for (let i = 0; i < 5_000; i++) agent = `{"name":"a${i}","kind":"child","children":[${agent}]}`;
    writeFileSync(join(dir, "deep.json"), `{"name":"deep","root":${agent}}`);
    writeFileSync(
      join(dir, "deep.yaml"),
      `name: deep\nroot:\n  name: r\n  kind: child\n  tools: ${"[".repeat(5_000)}x${"]".repeat(5_000)}\n`,
    );
    const json = await arbor("run", join(dir, "deep.json"));
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/\$\.root\.children\[0\]\.children\[0\].*: nested too deep/);
    const yaml = await arbor("run", join(dir, "deep.yaml"));
    expect(yaml.code).toBe(2);
    expect(yaml.stderr).toMatch(/nested too deep/);
    for (const { stderr } of [json, yaml]) expect(stderr).not.toMatch(/RangeError| {4}at /);
  });

  it("unknown options and missing files get a clear message and exit 2", async () => {
    expect(await arbor("run", "examples/demo.json", "--frobnicate")).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/unknown flag --frobnicate \(flags: --input, --json/),
    });
    expect(await arbor("run", "nope.json")).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/nope.json: cannot read it \(ENOENT\)/),
    });
    expect(await arbor("frob")).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/unknown command "frob"/),
    });
  });
});
