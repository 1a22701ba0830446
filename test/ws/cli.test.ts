/**
 * The CLI modules as a user runs them, as real processes: `arbor serve` on embedded defaults
 * (graceful SIGTERM with a request in flight, exit 0), `arbor inspect --connect`, and
 * `arbor run <spec> --connect` driving a remote server through a crash and a restart.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { ArborClient, RpcError } from "../../protocols/client/index.ts";
import { removeDataDir, seededDataDir } from "../support/seeded-data-dir.ts";

const main = join(import.meta.dirname, "..", "..", "bin", "arbor.mjs");
const dir = mkdtempSync(join(tmpdir(), "arbor-ws-cli-"));

interface Proc {
  readonly child: ChildProcess;
  readonly lines: Array<string>;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

let processes = 0;
const start = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Proc => {
  processes += 1;
  const child = spawn(process.execPath, [main, ...args], {
    // Each process gets its own embedded database folder, away from the working tree (only
    // `serve` and `--memory` open it; those tests give a created one).
    env: {
      ...process.env,
      ARBOR_DATA_DIR: join(dir, `data-${processes}`),
      ...env,
      ARBOR_TOKEN: env.ARBOR_TOKEN ?? "",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Array<string> = [];
  createInterface({ input: child.stdout! }).on("line", (l) => lines.push(l));
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, lines, stderr: () => err, exited };
};

const run = async (args: ReadonlyArray<string>) => {
  const p = start(args);
  const code = await p.exited;
  return { code, lines: p.lines, stderr: p.stderr() };
};

const spec = {
  name: "remote",
  root: {
    name: "lead",
    kind: "parent",
    input: "hello there",
    model: { provider: "scripted", script: [{ text: "lead heard: {{input}}" }] },
    children: [
      { name: "echo", kind: "micro", handler: "echo" },
      {
        name: "writer",
        kind: "child",
        model: { provider: "scripted", script: [{ crash: "first try fails" }, { text: "draft: {{input}}" }] },
      },
    ],
  },
};

let server: Proc;
let url = "";
const serverData = seededDataDir("arbor-ws-cli-serve-");
beforeAll(async () => {
  const config = join(dir, "arbor.config.json");
  writeFileSync(config, JSON.stringify({ server: { shutdownGraceMs: 200 } }));
  server = start(["serve", "--port", "0", "--json", "--config", config], {
    ARBOR_DATA_DIR: serverData,
  });
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: server.child.stdout! });
    rl.once("line", resolve);
    server.exited.then((code) => reject(new Error(`serve exited with ${code}: ${server.stderr()}`)));
  });
  url = (JSON.parse(first) as { url: string }).url;
});
afterAll(async () => {
  if (server.child.exitCode === null) server.child.kill("SIGKILL");
  await server.exited;
  removeDataDir(serverData);
});

describe("arbor serve: MCP over Streamable HTTP", () => {
  it("offers the tool registry at /mcp to the MCP SDK's own client", async () => {
    const client = new Client({ name: "test", version: "1.0.0" });
    const base = url.replace(/^ws/, "http").replace(/\/rpc$/, "");
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(["send_to_agent", "memory.search", "memory.remember"]),
      );
      const remembered = await client.callTool({
        name: "memory.remember",
        arguments: { entity: "user:grace", attribute: "language", value: "COBOL" },
      });
      expect(remembered.isError).toBe(false);
    } finally {
      await client.close();
    }
  });
});

describe("arbor run --connect and arbor inspect --connect", () => {
  it("runs a spec on the server, showing the crash and restart, with a JSON summary", async () => {
    const specFile = join(dir, "remote.json");
    writeFileSync(specFile, JSON.stringify(spec));
    const { code, lines } = await run(["run", specFile, "--connect", url, "--json"]);
    expect(code).toBe(0);
    const events = lines.map((l) => JSON.parse(l) as { type: string; address?: string });
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["agent.failed", "agent.restarted", "tree.stopped"]),
    );
    expect(events.at(-1)).toMatchObject({
      type: "run.summary",
      status: "completed",
      restarts: 1,
      output: expect.stringContaining("[writer] draft: hello there"),
    });
  });

  it("runs a spec's workflow on the server: the research pipeline, step by step", async () => {
    const { code, lines } = await run([
      "run",
      "examples/research-pipeline.yaml",
      "--connect",
      url,
      "--json",
      "--input",
      "caching",
    ]);
    expect(code).toBe(0);
    const events = lines.map((l) => JSON.parse(l) as { type: string; step?: string });
    expect(events.filter((e) => e.type === "workflow.step.completed").map((e) => e.step)).toHaveLength(5);
    expect(events.at(-1)).toMatchObject({
      type: "run.summary",
      status: "completed",
      output: expect.stringMatching(/^SUMMARY: APPROVED: research=FINDINGS\(for PLAN\(1\. survey caching/),
    });
  });

  it("reports an invalid spec with exit code 2 and the JSON path of the problem", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ name: "bad", root: { name: "x", kind: "mikro" } }));
    const { code, stderr } = await run(["run", bad, "--connect", url]);
    expect(code).toBe(2);
    expect(stderr).toContain('$.root.kind: expected one of "parent", "child", "micro"');
  });

  it("prints the live tree, and JSON with --json", async () => {
    const client = await ArborClient.connect(url);
    const { treeId } = await client.spawn({ ...spec, name: "shown" });
    const text = await run(["inspect", "--connect", url, treeId]);
    expect(text.code).toBe(0);
    expect(text.lines[0]).toBe(treeId);
    expect(text.lines.join("\n")).toMatch(/lead[\s\S]*echo[\s\S]*writer/);
    const json = await run(["inspect", "--connect", url, "--json"]);
    expect(json.code).toBe(0);
    const trees = json.lines.map(
      (l) => JSON.parse(l) as { treeId: string; root: { children: Array<{ name: string }> } },
    );
    expect(trees.find((t) => t.treeId === treeId)?.root.children.map((c) => c.name)).toEqual([
      "echo",
      "writer",
    ]);
    const missing = await run(["inspect", "--connect", url, "nope"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("tree not found: nope");
    await client.close();
  });
});

describe("arbor inspect --watch", () => {
  it("follows a tree until it stops, then exits 0", async () => {
    const client = await ArborClient.connect(url);
    const { treeId, root } = await client.spawn({ ...spec, name: "watched" });
    const watcher = start(["inspect", "--connect", url, treeId, "--watch"]);
    await expect.poll(() => watcher.lines.join("\n")).toContain("writer");
    await client.kill(`${root}/writer`, "seen by the watcher");
    await expect
      .poll(() => watcher.lines.join("\n"))
      .toMatch(/writer restarted \(#\d+, after \d+ ms\): seen by the watcher/);
    await client.stopTree(treeId, "watch over");
    expect(await watcher.exited).toBe(0);
    expect(watcher.lines.at(-1)).toContain(`tree ${treeId} stopped: watch over`);
    await client.close();
  });
});

describe("usage and live provider status (issue 15)", () => {
  it("arbor usage --connect and arbor providers status --connect read the live server", async () => {
    const client = await ArborClient.connect(url);
    const { root } = await client.spawn({ ...spec, name: "billed" });
    await client.ask(root, "count me");
    await client.close();
    const usage = await run(["usage", "--connect", url, "--by", "model", "--since", "1h", "--json"]);
    expect(usage.code).toBe(0);
    const report = JSON.parse(usage.lines[0]!) as {
      totals: { calls: number };
      groups: Array<{ key: string }>;
    };
    expect(report.totals.calls).toBeGreaterThan(0);
    expect(report.groups.map((g) => g.key)).toContain("scripted");
    const table = await run(["usage", "--connect", url, "--by", "tenant"]);
    expect(table.code).toBe(0);
    expect(table.lines[0]).toMatch(/^tenant\s+calls\s+errors\s+input tok\s+output tok\s+cost USD$/);
    expect(table.lines.at(-1)).toMatch(/^total\s+\d+/);
    const status = await run(["providers", "status", "--connect", url]);
    expect(status.code).toBe(0);
    expect(status.lines.join("\n")).toMatch(/spent today \(UTC\): \d+ calls/);
    const bad = await run(["usage", "--by", "colour"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--by takes one of agent, model, provider, day, tenant, tree");
  });

  it("arbor run --memory records calls in the SQL ledger that arbor usage reads afterwards", async () => {
    const data = seededDataDir("arbor-ws-cli-ledger-");
    onTestFinished(() => removeDataDir(data));
    const specFile = join(dir, "ledger.json");
    writeFileSync(
      specFile,
      JSON.stringify({
        name: "ledgered",
        root: {
          name: "root",
          kind: "child",
          input: "hi",
          model: { provider: "scripted", script: [{ text: "hello" }] },
        },
      }),
    );
    const ran = start(["run", specFile, "--memory", "--json"], { ARBOR_DATA_DIR: data });
    expect(await ran.exited).toBe(0);
    const read = start(["usage", "--by", "tree", "--json"], { ARBOR_DATA_DIR: data });
    expect(await read.exited).toBe(0);
    const report = JSON.parse(read.lines[0]!) as {
      totals: { calls: number };
      groups: Array<{ key: string }>;
    };
    expect(report.totals.calls).toBe(1);
    expect(report.groups[0]!.key).toMatch(/^ledgered/);
  });
});

describe("arbor serve", () => {
  it("serves memory on the embedded database by default", async () => {
    const client = await ArborClient.connect(url);
    await client.request("memory.remember", {
      entity: "user:alice",
      attribute: "favourite_colour",
      value: "green",
    });
    await client.request("memory.remember", {
      entity: "user:alice",
      attribute: "favourite_colour",
      value: "blue",
    });
    const recalled = JSON.stringify(await client.request("memory.recall", { entity: "user:alice" }));
    expect(recalled).toContain('"blue"');
    expect(recalled).not.toContain('"green"');
    await expect(
      client.request("memory.recall", { entity: "user:alice", atribute: "x" }),
    ).rejects.toMatchObject({
      code: -32602,
    });
    await client.close();
  });

  it("refuses to bind beyond loopback without a token", async () => {
    const { code, stderr } = await run(["serve", "--host", "0.0.0.0", "--port", "0"]);
    expect(code).toBe(2);
    expect(stderr).toContain("refusing to listen on 0.0.0.0 without a token");
  });

  it("shuts down gracefully on SIGTERM: in-flight requests fail clearly, trees stop, exit 0", async () => {
    const client = await ArborClient.connect(url);
    const { treeId, root } = await client.spawn({
      name: "slow",
      root: {
        name: "lead",
        kind: "child",
        model: { provider: "scripted", script: [{ text: "late", delayMs: 600_000 }] },
      },
    });
    const stopped: Array<string> = [];
    await client.subscribe({ types: ["tree.stopped"] }, (e) => stopped.push(e.tree));
    const notices: Array<string> = [];
    client.onShutdown((reason) => notices.push(reason));
    const pending = client.ask(root, "never answered").then(
      () => undefined,
      (e: unknown) => e,
    );
    await client.trees(); // the ask is admitted before this answers
    server.child.kill("SIGTERM");
    const error = await pending;
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).reason).toBe("shutting_down");
    expect(notices).toEqual(["server shutting down (SIGTERM)"]);
    expect(await server.exited).toBe(0);
    expect(stopped).toContain(treeId);
    expect(server.stderr()).toContain("arbor serve: stopped");
    expect(client.closed).toBe(true);
  });
});
