import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Effect, Exit, Scope } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeMcpPlugin } from "../../plugins/tools/mcp/plugin.ts";
import { makeToolRunner } from "../../plugins/tools/runner.ts";
import { mcpAgent, mountMcpHttp } from "../../protocols/mcp/server.ts";
import { type ArborEvent, makeEventBus } from "../../runtime/events.ts";
import { Registry } from "../../runtime/plugin-host.ts";
import { noOps, sampleTools } from "./fixtures/tools.ts";

const text = (result: Awaited<ReturnType<Client["callTool"]>>) =>
  (result.content as Array<{ type: string; text?: string }>).map((c) => c.text).join("");

describe("MCP server over Streamable HTTP", () => {
  let http: Server;
  let url: URL;
  let scope: Scope.CloseableScope;
  const seen: ArborEvent[] = [];

  beforeAll(async () => {
    http = createServer();
    await new Promise<void>((done) => http.listen(0, "127.0.0.1", done));
    url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
    await Effect.runPromise(
      Effect.gen(function* () {
        const events = yield* makeEventBus(() => Date.now());
        events.listen((e) => seen.push(e));
        const tools = makeToolRunner({ tools: () => sampleTools, events });
        scope = yield* Scope.make();
        yield* mountMcpHttp(http, { tools, agent: mcpAgent({}), ops: noOps }).pipe(Scope.extend(scope));
      }),
    );
  });
  afterAll(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void));
    await new Promise((done) => http.close(done));
  });

  const connect = async () => {
    const client = new Client({ name: "test", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(url));
    return client;
  };

  it("lists only the tools the configured agent may use", async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["add"]);
    expect(tools[0]!.inputSchema).toMatchObject({ type: "object", required: ["a", "b"] });
    await client.close();
  });

  it("runs calls through the tool runner, errors included, with events", async () => {
    const client = await connect();
    const sum = await client.callTool({ name: "add", arguments: { a: 2, b: 40 } });
    expect(sum.isError).toBe(false);
    expect(text(sum)).toBe("42");
    const refused = await client.callTool({ name: "launch_codes", arguments: {} });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/not allowed for this agent/);
    const invalid = await client.callTool({ name: "add", arguments: { a: "2" } });
    expect(invalid.isError).toBe(true);
    expect(text(invalid)).toMatch(/invalid arguments/);
    expect(seen.filter((e) => e.type === "tool.result").map((e) => (e as { ok: boolean }).ok)).toEqual([
      true,
      false,
      false,
    ]);
    await client.close();
  });

  it("is reachable by Arbor's own MCP client plugin (Streamable HTTP client side)", async () => {
    const out = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const events = yield* makeEventBus(() => Date.now());
          const registry = new Registry(undefined, events, {
            mcp: { servers: { arbor: { url: url.href } } },
          });
          const pluginScope = yield* Effect.scope;
          yield* registry.load([makeMcpPlugin()], pluginScope);
          const tools = makeToolRunner({ tools: registry.lookup("tool").all, events });
          const agent = mcpAgent({});
          const names = tools.visible(agent).map((t) => t.name);
          const result = yield* tools.call(
            { id: "1", name: "mcp.arbor.add", args: { a: 1, b: 2 } },
            { agent, ops: noOps },
          );
          return { names, result };
        }),
      ),
    );
    expect(out.names).toEqual(["mcp.arbor.add"]);
    expect(out.result).toMatchObject({ ok: true, content: "3" });
  });
});

describe("MCP server over stdio", () => {
  const start = async (role?: string) => {
    const client = new Client({ name: "test", version: "1" });
    const transport = new StdioClientTransport({
      command: resolve("node_modules/.bin/tsx"),
      args: [resolve("test/mcp/fixtures/stdio-server.ts"), ...(role ? [role] : [])],
      stderr: "ignore",
    });
    await client.connect(transport);
    return client;
  };

  it("serves the tool registry, honouring the configured role", async () => {
    const admin = await start("admin");
    try {
      const { tools } = await admin.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(["add", "launch_codes"]);
      expect(text(await admin.callTool({ name: "launch_codes", arguments: {} }))).toBe("0000");
      expect(text(await admin.callTool({ name: "add", arguments: { a: 1, b: 1 } }))).toBe("2");
    } finally {
      await admin.close();
    }
  });
});
