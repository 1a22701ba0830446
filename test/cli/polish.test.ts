/**
 * The `arbor` command's manners: --version, help <command>, did-you-mean for flags and commands,
 * a hint to start a server, plain output off a terminal, and a live view that redraws wrapped
 * lines in place with per-agent time and tokens.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createArbor } from "../../index.ts";
import { AgentStats, LiveView } from "../../protocols/cli/live-view.ts";
import { rowsOf } from "../../protocols/cli/terminal.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import type { AgentNode } from "../../runtime/system.ts";
import { clusterIdentifier, seedClusterIdentifier } from "../support/cluster-identity.ts";

const exec = promisify(execFile);
const arbor = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}) =>
  exec("node", ["bin/arbor.mjs", ...args], { env: { ...process.env, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

/** A port nothing listens on: bound, then released. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

describe("arbor's command line", () => {
  it("--version prints the package version", async () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    const result = await arbor(["--version"]);
    expect(result).toMatchObject({ code: 0, stdout: `arbor ${version}\n` });
  });

  it("help <command> prints that command's options", async () => {
    const result = await arbor(["help", "run"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: arbor run <spec/);
    expect(result.stdout).toMatch(/--timeout <ms>/);
  });

  it("suggests the flag and the command meant, one line each, exit 2", async () => {
    const flag = await arbor(["run", "examples/demo.json", "--jsno"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^arbor run: unknown flag --jsno; did you mean --json\?\n/);
    expect(flag.stderr).not.toMatch(/Usage:/);
    const command = await arbor(["inspcet"]);
    expect(command.code).toBe(2);
    expect(command.stderr).toMatch(/unknown command "inspcet"; did you mean inspect\?/);
  });

  it("inspect without a server says to start `arbor serve`", async () => {
    const result = await arbor(["inspect", "--connect", `ws://127.0.0.1:${await freePort()}/rpc`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /no Arbor server at ws:\/\/127\.0\.0\.1:\d+\/rpc; start one with `arbor serve`/,
    );
  });

  it("off a terminal, `arbor run` prints plain lines: no colour or cursor codes", async () => {
    const result = await arbor(["run", "examples/crash-once.json"], { NO_COLOR: "1" });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/↻ \/crash-once\/lead\/worker restarted/);
    expect(result.stdout).not.toContain("\x1b[");
  });
});

describe("did you mean, for config files and specs", () => {
  it("refuses a misspelt config section and a tree spec given as config, before starting anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arbor-typo-"));
    const typo = join(dir, "arbor.config.json");
    writeFileSync(typo, JSON.stringify({ provders: { openai: {} }, knowledge: {} }));
    const section = await arbor(["serve", "--port", "0", "--no-memory", "--config", typo]);
    expect(section.code).toBe(2);
    expect(section.stderr).toMatch(/\$\.provders: unknown section; did you mean providers\?/);
    const spec = await arbor(["serve", "--port", "0", "--no-memory", "--config", "examples/demo.json"]);
    expect(spec.code).toBe(2);
    expect(spec.stderr).toMatch(/this is a tree spec, not a config file: run it with `arbor run <spec>`/);
  });

  it("suggests temperature for model.temprature, one line, not the scripted step's fields", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arbor-typo-"));
    const file = join(dir, "spec.json");
    const model = { provider: "scripted", temprature: 0.2, script: [{ text: "x" }] };
    writeFileSync(file, JSON.stringify({ name: "t", root: { name: "r", kind: "child", model } }));
    const result = await arbor(["run", file], { NO_COLOR: "1" });
    expect(result.code).toBe(2);
    const problems = result.stderr.split("\n").filter((line) => line.startsWith("  $"));
    expect(problems).toEqual(["  $.root.model.temprature: unknown field; did you mean temperature?"]);
  });
});

describe("the first arbor serve", () => {
  it("says it is creating the database before the wait, then listens, and keeps its folder to itself", async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), "arbor-first-")), "data");
    const child = spawn("node", ["bin/arbor.mjs", "serve", "--port", "0", "--json"], {
      env: { ...process.env, ARBOR_DATA_DIR: dataDir },
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const listening = await new Promise<string>((resolve) => {
      let stdout = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes("serve.listening")) resolve(stdout);
      });
    });
    // The data dir is this server's: a second process on it is refused, naming the holder.
    const second = await arbor(["run", "examples/demo.json", "--memory"], { ARBOR_DATA_DIR: dataDir });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    // Created from the build's seed cluster (knowledge/data-dir-seed.ts), not by a fresh initdb.
    const cluster = clusterIdentifier(dataDir);
    rmSync(join(dataDir, ".."), { recursive: true, force: true });
    expect(cluster).toBe(seedClusterIdentifier());
    expect(listening).toMatch(/"type":"serve.listening"/);
    expect(stderr).toContain(`first start: creating the embedded database in ${dataDir}`);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain(`${dataDir} is in use by process ${child.pid} (`);
  });
});

describe("the live view", () => {
  it("counts wrapped rows, so a redraw in a narrow terminal erases exactly the last frame", async () => {
    const stream = new PassThrough();
    const out = Object.assign(stream, { isTTY: true, columns: 20 }) as unknown as NodeJS.WriteStream;
    const node: AgentNode = {
      id: "ag_0",
      address: "/t/a-rather-long-agent-name",
      name: "a-rather-long-agent-name",
      kind: "parent",
      status: "running",
      state: "idle",
      restarts: 0,
      mailbox: { size: 0, capacity: 8, dropped: 0 },
      children: [],
    };
    const frame = () =>
      new Promise<string>((resolve) => stream.once("data", (chunk: Buffer) => resolve(chunk.toString())));
    const view = new LiveView(
      out,
      () => node,
      () => "header",
      1,
    );
    const started = {
      type: "tree.started",
      tree: "t",
      address: "/t",
      id: "t",
      time: 0,
    } as unknown as ArborEvent;
    const first = frame();
    view.event(started);
    const firstLines = (await first).split("\n").slice(0, -1);
    const second = frame();
    view.event(started);
    const rows = rowsOf(firstLines, 20);
    expect(rows).toBeGreaterThan(firstLines.length); // the agent's line is wider than 20 columns
    expect(await second).toMatch(new RegExp(`^\\x1b\\[${rows}A\\r\\x1b\\[J`));
    view.finish();
  });

  it("shows each agent's task time and the tokens its model used", async () => {
    const runtime = await createArbor();
    const stats = new AgentStats();
    runtime.onEvent((event) => stats.event(event));
    const summary = await runtime.run(
      {
        name: "figures",
        root: {
          name: "lead",
          kind: "child",
          model: { provider: "scripted", script: [{ text: "four words of answer" }] },
        },
      },
      { input: "a task for the lead" },
    );
    await runtime.close();
    expect(summary.status).toBe("completed");
    const tokens = summary.usage.inputTokens + summary.usage.outputTokens;
    expect(stats.label("/figures/lead", Date.now())).toMatch(new RegExp(`^ \\d+\\.\\ds ${tokens} tok$`));
  });
});

describe("the live view of a streaming answer", () => {
  it("shows the growing text of a working agent under its line, and nothing once it replied", async () => {
    const runtime = await createArbor();
    const stats = new AgentStats();
    const seen: string[] = [];
    runtime.onEvent((event) => {
      stats.event(event);
      if (event.type === "agent.delta") seen.push(stats.writing("/growing/talker"));
    });
    try {
      const summary = await runtime.run(
        {
          name: "growing",
          root: {
            name: "talker",
            kind: "child",
            model: {
              provider: "scripted",
              script: [
                {
                  stream: [
                    "The first part of a long answer that is written in pieces, ",
                    "then a second part that arrives a little later, ",
                    "and a last part to finish.",
                  ],
                },
              ],
            },
          },
        } as never,
        { input: "talk", stream: true },
      );
      expect(summary.status).toBe("completed");
      expect(seen.length).toBeGreaterThan(1);
      expect(seen[0]!.length).toBeGreaterThan(0);
      expect(stats.writing("/growing/talker")).toBe("");
    } finally {
      await runtime.close();
    }
  });
});
