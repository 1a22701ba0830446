import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Effect, Exit, Scope } from "effect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { McpConnection } from "../../plugins/tools/mcp/connection.ts";
import { makeMcpPlugin } from "../../plugins/tools/mcp/plugin.ts";
import { toolsPlugin } from "../../plugins/tools/plugin.ts";
import type { AgentInfo } from "../../runtime/agent-info.ts";
import { noGuardrails } from "../../runtime/defaults.ts";
import { type ArborEvent, makeEventBus } from "../../runtime/events.ts";
import { Registry } from "../../runtime/plugin-host.ts";
import type { AgentOps, ToolRunner } from "../../runtime/tool.ts";

const bin = (name: string) => resolve("node_modules/.bin", name);

const agent = (role?: string): AgentInfo => ({
  tree: "t",
  treeId: "t1",
  address: "/t1/root",
  id: "a",
  name: "root",
  kind: "parent",
  depth: 0,
  settings: {},
  ...(role ? { role } : {}),
});
const noOps: AgentOps = {
  spawn: () => Effect.fail(new Error("unused")),
  send: () => Effect.fail(new Error("unused")),
  ask: () => Effect.fail(new Error("unused")),
  resolve: (to: string) => to,
};

let dir: string;
let scope: Scope.CloseableScope;
let runner: ToolRunner;
const clients = new Map<string, McpConnection>();
const seen: ArborEvent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "arbor-mcp-"));
  await writeFile(join(dir, "hello.txt"), "hello from disk");
  const config = {
    mcp: {
      servers: {
        everything: {
          command: bin("mcp-server-everything"),
          args: ["stdio"],
          restart: { minMs: 400, maxMs: 400 },
        },
        fs: { command: bin("mcp-server-filesystem"), args: [dir], permissions: { roles: ["librarian"] } },
      },
    },
  };
  await Effect.runPromise(
    Effect.gen(function* () {
      const events = yield* makeEventBus(() => Date.now());
      events.listen((e) => seen.push(e));
      const registry = new Registry(undefined, events, config);
      scope = yield* Scope.make();
      yield* registry.load([toolsPlugin, makeMcpPlugin(clients)], scope);
      runner = registry.factory("toolRunner")!(registry.lookup("tool"), noGuardrails);
    }),
  );
});

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void));
  await rm(dir, { recursive: true, force: true });
});

const call = (name: string, args: unknown, who = agent()) =>
  Effect.runPromise(runner.call({ id: `${name}-${Math.random()}`, name, args }, { agent: who, ops: noOps }));

describe("MCP client", () => {
  it("registers a stdio server's tools as mcp.<server>.<tool> with their JSON Schemas", () => {
    const echo = runner.visible(agent()).find((t) => t.name === "mcp.everything.echo");
    expect(echo?.inputSchema).toMatchObject({ type: "object", properties: { message: { type: "string" } } });
    expect(runner.visible(agent()).some((t) => t.name === "mcp.everything.get-sum")).toBe(true);
  });

  it("calls a tool and events the call and its result", async () => {
    const result = await call("mcp.everything.echo", { message: "hi there" });
    expect(result).toMatchObject({ ok: true, content: "Echo: hi there" });
    const events = seen.filter((e) => e.type === "tool.called" || e.type === "tool.result");
    expect(events.slice(-2)).toMatchObject([
      { type: "tool.called", tool: "mcp.everything.echo", args: { message: "hi there" } },
      { type: "tool.result", tool: "mcp.everything.echo", ok: true, result: "Echo: hi there" },
    ]);
  });

  it("validates arguments against the server's schema before calling", async () => {
    const result = await call("mcp.everything.get-sum", { a: "one", b: 2 });
    expect(result.ok).toBe(false);
    expect(result.content).toMatch(/invalid arguments for "mcp.everything.get-sum"[\s\S]*must be number/);
  });

  it("honours configured permissions (the filesystem server is for librarians)", async () => {
    expect(runner.visible(agent()).some((t) => t.name.startsWith("mcp.fs."))).toBe(false);
    const refused = await call("mcp.fs.read_text_file", { path: join(dir, "hello.txt") });
    expect(refused.content).toMatch(/not allowed for this agent/);
    const read = await call("mcp.fs.read_text_file", { path: join(dir, "hello.txt") }, agent("librarian"));
    expect(read).toMatchObject({ ok: true, content: "hello from disk" });
    const outside = await call("mcp.fs.read_text_file", { path: "/etc/hostname" }, agent("librarian"));
    expect(outside.ok).toBe(false);
  });

  it("restarts a crashed server with backoff; its tools are unavailable meanwhile", async () => {
    const everything = clients.get("everything")!;
    const pid = everything.pid();
    expect(pid).toBeTypeOf("number");
    process.kill(pid!, "SIGKILL");
    await vi.waitFor(() => expect(everything.ready()).toBe(false), { timeout: 30_000, interval: 5 });
    const during = await call("mcp.everything.echo", { message: "anyone?" });
    expect(during.content).toMatch(/unavailable right now/);
    expect(runner.visible(agent()).some((t) => t.name === "mcp.everything.echo")).toBe(false);
    await vi.waitFor(() => expect(everything.ready()).toBe(true), { timeout: 30_000, interval: 20 });
    expect(everything.restarts()).toBe(1);
    expect(everything.pid()).not.toBe(pid);
    const states = seen.filter(
      (e) => e.type.startsWith("mcp.server.") && (e as { server?: string }).server === "everything",
    );
    expect(states.map((e) => e.type)).toEqual(["mcp.server.up", "mcp.server.down", "mcp.server.up"]);
    expect(states[1]).toMatchObject({
      reason: "the server exited or closed the connection",
      retryInMs: expect.any(Number),
    });
    expect(states[2]).toMatchObject({ restarts: 1 });
    expect(await call("mcp.everything.echo", { message: "back" })).toMatchObject({
      ok: true,
      content: "Echo: back",
    });
  });
});

describe("MCP client with a server whose tools change", () => {
  it("registers a tool announced later with tools/list_changed", async () => {
    const config = {
      mcp: {
        servers: {
          late: {
            command: process.execPath,
            args: ["--import", "tsx", resolve("test/mcp/fixtures/late-tool-server.ts")],
          },
        },
      },
    };
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const events = yield* makeEventBus(() => Date.now());
          const registry = new Registry(undefined, events, config);
          yield* registry.load([toolsPlugin, makeMcpPlugin()], yield* Effect.scope);
          const tools = registry.factory("toolRunner")!(registry.lookup("tool"), noGuardrails);
          const names = () => tools.visible(agent()).map((t) => t.name);
          expect(names()).toContain("mcp.late.first");
          yield* Effect.promise(() =>
            vi.waitFor(() => expect(names()).toContain("mcp.late.second"), { timeout: 30_000, interval: 20 }),
          );
          const result = yield* tools.call(
            { id: "c1", name: "mcp.late.second", args: {} },
            { agent: agent(), ops: noOps },
          );
          expect(result).toMatchObject({ ok: true, content: "second!" });
        }),
      ),
    );
  });
});

describe("MCP client with a server that cannot start", () => {
  it("loads anyway, offers none of its tools, and keeps retrying", async () => {
    const down = new Map<string, McpConnection>();
    const config = {
      mcp: { servers: { ghost: { command: resolve("node_modules/.bin/no-such-mcp-server") } } },
    };
    const out = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const events = yield* makeEventBus(() => Date.now());
          const registry = new Registry(undefined, events, config);
          yield* registry.load([toolsPlugin, makeMcpPlugin(down)], yield* Effect.scope);
          const tools = registry.factory("toolRunner")!(registry.lookup("tool"), noGuardrails);
          return tools.visible(agent()).map((t) => t.name);
        }),
      ),
    );
    expect(out.some((name) => name.startsWith("mcp."))).toBe(false);
    expect(down.get("ghost")?.ready()).toBe(false);
  });

  it("refuses an invalid mcp section with a config error", async () => {
    const error = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const events = yield* makeEventBus(() => Date.now());
          const registry = new Registry(undefined, events, {
            mcp: { servers: { "bad name": { url: "ftp://x" } } },
          });
          return yield* Effect.flip(registry.load([makeMcpPlugin()], yield* Effect.scope));
        }),
      ),
    );
    expect(error).toMatchObject({ _tag: "PluginError", plugin: "mcp", fault: "config" });
    expect(error.message).toMatch(/invalid mcp config/);
  });
});
