import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { describe, expect, it } from "vitest";

const exec = promisify(execFile);

describe("arbor mcp", () => {
  it("serves the tool registry over stdio to a real MCP client, acting as the configured agent", async () => {
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: "node",
        args: ["bin/arbor.mjs", "mcp", "--kind", "parent"],
        stderr: "pipe",
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(["spawn_agent", "send_to_agent", "handoff"]),
      );
      const refused = await client.callTool({
        name: "spawn_agent",
        arguments: { spec: { name: "x", kind: "micro" } },
      });
      expect(refused.isError).toBe(true);
      expect(JSON.stringify(refused.content)).toMatch(
        /the operator spawns trees \(tree.spawn\), not single agents/,
      );
    } finally {
      await client.close();
    }
  });
});

describe("arbor providers status", () => {
  it("shows configured keys by fingerprint only", async () => {
    const key = "sk-test-SECRETVALUE-9f3a";
    const { stdout } = await exec("node", ["bin/arbor.mjs", "providers", "status", "--json"], {
      env: { ...process.env, OPENAI_API_KEY: key },
    });
    expect(stdout).not.toContain("SECRETVALUE");
    const status = JSON.parse(stdout) as {
      providers: Array<{ name: string; configured: boolean; keys: Array<{ fingerprint: string }> }>;
    };
    const openai = status.providers.find((p) => p.name === "openai")!;
    expect(openai.configured).toBe(true);
    expect(openai.keys[0]!.fingerprint).toMatch(/^sha256:[0-9a-f]{8}$/);
  });
});

describe("the README's TypeScript example", () => {
  it("examples/library.ts runs: a tree in process, a restart event, the answers", async () => {
    const { stdout } = await exec("node", ["--import", "tsx", "examples/library.ts"]);
    expect(stdout).toMatch(/event: agent\.failed \/library-demo\/lead\/worker \(flaky start\)/);
    expect(stdout).toMatch(/event: agent\.restarted \/library-demo\/lead\/worker/);
    expect(stdout).toMatch(/All done: tidy the garden/);
    expect(stdout).toMatch(/MICRO AGENTS ANSWER AT ONCE/);
  });

  it("examples/conversation.ts runs: a thread's history, a deadline and a cancel", async () => {
    const { stdout } = await exec("node", ["--import", "tsx", "examples/conversation.ts"]);
    expect(stdout.trim().split("\n")).toEqual([
      "user: I am Ada.",
      "assistant: Nice to meet you.",
      "user: Who am I?",
      "assistant: You are Ada; the thread was sent along.",
      "Timeout (fault user)",
      "Cancelled (fault user)",
    ]);
  });
});
