/**
 * Protocol-level behaviour over a real socket on 127.0.0.1: framing, every standard error code,
 * batches, limits, a flood of malformed frames, frame size, health and metrics. These do not depend
 * on agent behaviour beyond the built-in handlers and the scripted provider.
 */
import { afterEach, describe, expect, it } from "vitest";
import { defaultServerOptions } from "../../protocols/ws/options.ts";
import { openRaw, type RawSocket } from "./harness.ts";
import { demoSpec, type RunningRuntime, startRuntimeServer } from "./runtime.ts";

let running: RunningRuntime | undefined;
const sockets: Array<RawSocket> = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await running?.close();
  running = undefined;
});

const start = async (options: Parameters<typeof startRuntimeServer>[0] = {}) => {
  running = await startRuntimeServer(options);
  return running;
};
const open = async (url: string, headers: Record<string, string> = {}) => {
  const socket = await openRaw(url, headers);
  sockets.push(socket);
  return socket;
};

describe("JSON-RPC framing", () => {
  it("answers a frame that is not JSON with -32700 and keeps the connection usable", async () => {
    const { url } = await start();
    const s = await open(url);
    s.sendText("{not json");
    expect(await s.next()).toMatchObject({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32700, data: { reason: "parse_error", fault: "user" } },
    });
    expect((await s.call("tree.list")).result).toEqual({ trees: [] });
  });

  it("answers malformed requests with -32600 (keeping a valid id) and positional params with -32602", async () => {
    const { url } = await start();
    const s = await open(url);
    s.send({ id: 1, method: "tree.list" });
    expect(await s.next()).toMatchObject({ id: 1, error: { code: -32600 } });
    s.send({ jsonrpc: "2.0", id: { no: 1 }, method: "tree.list" });
    expect(await s.next()).toMatchObject({ id: null, error: { code: -32600 } });
    s.send({ jsonrpc: "2.0", id: 2, method: "tree.list", params: [1, 2] });
    expect(await s.next()).toMatchObject({
      id: 2,
      error: { code: -32602, data: { problems: [{ path: "$.params" }] } },
    });
    s.send([]);
    expect(await s.next()).toMatchObject({
      id: null,
      error: { code: -32600, message: expect.stringContaining("empty batch") },
    });
    s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await s.next()).toMatchObject({ error: { code: -32600, data: { reason: "binary_frame" } } });
  });

  it("answers an unknown method with -32601 naming it", async () => {
    const { url } = await start();
    const s = await open(url);
    const reply = await s.call("tree.explode", {});
    expect(reply.error).toMatchObject({
      code: -32601,
      data: { reason: "method_not_found", method: "tree.explode" },
    });
  });

  it("answers invalid params with -32602 listing each JSON path and what was expected", async () => {
    const { url } = await start();
    const s = await open(url);
    const reply = await s.call("agent.ask", { to: 42, input: "hi", timeoutMs: -5, tiemout: 1 });
    expect(reply.error?.code).toBe(-32602);
    expect(reply.error?.data.reason).toBe("invalid_params");
    const problems = reply.error?.data.problems as Array<{ path: string; message: string }>;
    expect(problems.map((p) => p.path).sort()).toEqual([
      "$.params.tiemout",
      "$.params.timeoutMs",
      "$.params.to",
    ]);
    expect(problems.find((p) => p.path === "$.params.to")?.message).toMatch(/Expected string/);
    expect(problems.find((p) => p.path === "$.params.timeoutMs")?.message).toMatch(/1 to 600000/);
    expect(problems.find((p) => p.path === "$.params.tiemout")?.message).toBe("unknown parameter");
    // Ids the client chooses are stored and shown: control characters are refused, each by path.
    const ids = await s.call("agent.ask", {
      to: "/nowhere/a",
      input: "hi",
      thread: "t\u0000",
      idempotencyKey: "key\n",
      requestId: "r\u007f",
    });
    const idProblems = ids.error?.data.problems as Array<{ path: string; message: string }>;
    expect(idProblems.map((p) => [p.path, p.message]).sort()).toEqual([
      ["$.params.idempotencyKey", "expected no control characters in the idempotency key"],
      ["$.params.requestId", "expected no control characters in the request id"],
      ["$.params.thread", "expected no control characters in the thread id"],
    ]);
  });

  it("refuses params on methods that take none, naming the unknown key", async () => {
    const { url } = await start();
    const s = await open(url);
    const reply = await s.call("tree.list", { tenant: "someone-else" });
    expect(reply.error).toMatchObject({
      code: -32602,
      data: { problems: [{ path: "$.params.tenant", message: "unknown parameter" }] },
    });
  });

  it("answers a batch with one array holding a response per request and none for notifications", async () => {
    const { url } = await start();
    const s = await open(url);
    s.send([
      { jsonrpc: "2.0", id: "a", method: "runtime.stats" },
      { jsonrpc: "2.0", method: "tree.list" },
      { jsonrpc: "2.0", id: "b", method: "nope" },
      42,
    ]);
    const replies = (await s.next()) as Array<{ id: unknown; result?: unknown; error?: { code: number } }>;
    expect(replies).toHaveLength(3);
    expect(replies.find((r) => r.id === "a")?.result).toMatchObject({ trees: 0, agentsLive: 0 });
    expect(replies.find((r) => r.id === "b")?.error?.code).toBe(-32601);
    expect(replies.find((r) => r.id === null)?.error?.code).toBe(-32600);
  });

  it("sends nothing back for a batch of notifications", async () => {
    const { url } = await start();
    const s = await open(url);
    s.send([
      { jsonrpc: "2.0", method: "tree.list" },
      { jsonrpc: "2.0", method: "runtime.stats" },
    ]);
    s.send({ jsonrpc: "2.0", id: 7, method: "tree.list" });
    expect(await s.next()).toMatchObject({ id: 7, result: { trees: [] } });
  });
});

describe("limits", () => {
  it("closes a connection sending a frame above maxPayloadBytes with 1009, leaving others alone", async () => {
    const { url } = await start({
      limits: {
        ...(await import("../../protocols/ws/options.ts")).defaultServerOptions.limits,
        maxPayloadBytes: 1024,
      },
    });
    const big = await open(url);
    const other = await open(url);
    big.sendText(
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tree.list", params: { pad: "x".repeat(4096) } }),
    );
    expect((await big.closed).code).toBe(1009);
    expect((await other.call("tree.list")).result).toEqual({ trees: [] });
  });

  it("refuses requests above the rate with rate_limited and a retry hint", async () => {
    const { url } = await start({
      limits: { ...defaultServerOptions.limits, ratePerSecond: 0.001, rateBurst: 3 },
    });
    const s = await open(url);
    s.send([1, 2, 3, 4, 5].map((id) => ({ jsonrpc: "2.0", id, method: "tree.list" })));
    const replies = (await s.next()) as Array<{
      id: number;
      error?: { code: number; data: { reason: string; retryAfterMs: number } };
    }>;
    const limited = replies.filter((r) => r.error);
    expect(limited.map((r) => r.id)).toEqual([4, 5]);
    expect(limited[0]?.error).toMatchObject({
      code: -32005,
      data: { reason: "rate_limited", fault: "user" },
    });
    expect(limited[0]?.error?.data.retryAfterMs).toBeGreaterThan(0);
  });

  it("refuses requests beyond maxInFlight with overloaded while earlier ones still complete", async () => {
    running = await startRuntimeServer({ limits: { ...defaultServerOptions.limits, maxInFlight: 2 } });
    const s = await open(running.url);
    const slowSpec = {
      name: "slow",
      root: {
        name: "lead",
        kind: "child",
        model: { provider: "scripted", script: [{ text: "late", delayMs: 600_000 }] },
      },
    };
    const { treeId, root } = (await s.call("tree.spawn", { spec: slowSpec })).result as {
      treeId: string;
      root: string;
    };
    const first = s.call("agent.ask", { to: root, input: "1" });
    const second = s.call("agent.ask", { to: root, input: "2" });
    const third = await s.call("agent.ask", { to: root, input: "3" });
    expect(third.error).toMatchObject({ code: -32007, data: { reason: "too_many_in_flight", limit: 2 } });
    // Stopping the tree (from another connection) answers the two in flight; this one then takes requests again.
    const admin = await open(running.url);
    expect((await admin.call("tree.stop", { treeId })).result).toEqual({ treeId, stopped: true });
    expect((await first).error).toMatchObject({ code: -32009, data: { reason: "stopped" } });
    expect((await second).error).toMatchObject({ code: -32009 });
    expect((await s.call("tree.list")).result).toEqual({ trees: [] });
  });

  it("refuses a spawn that would take the tenant past maxAgentsPerTenant, leaving nothing of it running", async () => {
    const { url } = await start({ limits: { ...defaultServerOptions.limits, maxAgentsPerTenant: 6 } });
    const s = await open(url);
    expect((await s.call("tree.spawn", { spec: demoSpec("first") })).result).toMatchObject({
      treeId: "first",
    });
    const refused = await s.call("tree.spawn", { spec: demoSpec("second") });
    expect(refused.error).toMatchObject({ code: -32011, data: { reason: "limit", limit: 6 } });
    expect(refused.error?.message).toMatch(/would run 8 agents .*limit 6.*stopped/);
    const { trees } = (await s.call("tree.list")).result as { trees: Array<{ treeId: string }> };
    expect(trees.map((t) => t.treeId)).toEqual(["first"]);
  });

  it("survives a flood of malformed frames: every one answered, other clients unaffected", async () => {
    const { url, httpUrl } = await start();
    const flooder = await open(url);
    const bystander = await open(url);
    const garbage = [
      "{",
      "[1,",
      "null",
      '{"jsonrpc":"1.0"}',
      "\u0000\u0001",
      '{"jsonrpc":"2.0","method":5}',
      "[]",
      "[[]]",
    ];
    const answers = (async () => {
      const codes: Array<number> = [];
      for (let i = 0; i < 400; i++) {
        const reply = (await flooder.next()) as
          | { error?: { code: number } }
          | Array<{ error?: { code: number } }>;
        codes.push(Array.isArray(reply) ? reply[0]!.error!.code : reply.error!.code);
      }
      return codes;
    })();
    for (let i = 0; i < 400; i++) flooder.sendText(garbage[i % garbage.length]!);
    const bystanderReplies = await Promise.all(
      Array.from({ length: 20 }, () => bystander.call("runtime.stats")),
    );
    expect(bystanderReplies.every((r) => r.result !== undefined)).toBe(true);
    const codes = await answers;
    expect(new Set(codes)).toEqual(new Set([-32700, -32600]));
    expect((await flooder.call("tree.list")).result).toEqual({ trees: [] });
    expect((await fetch(`${httpUrl}/healthz`)).status).toBe(200);
  });
});

describe("HTTP endpoints", () => {
  it("serves /healthz and Prometheus /metrics, and 404s unknown paths and upgrades", async () => {
    const { url, httpUrl } = await start();
    const s = await open(url);
    s.sendText("nope");
    await s.next();
    await s.call("tree.spawn", { spec: demoSpec("m") });
    const health = await fetch(`${httpUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const metrics = await fetch(`${httpUrl}/metrics`);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain; version=0.0.4/);
    const text = await metrics.text();
    expect(text).toMatch(/^# TYPE arbor_agents_live gauge$/m);
    expect(text).toMatch(/^arbor_trees 1$/m);
    expect(text).toMatch(/^arbor_agents_live 4$/m);
    expect(text).toMatch(/^arbor_ws_connections 1$/m);
    expect(text).toMatch(/^arbor_ws_errors_total\{code="-32700"\} 1$/m);
    expect((await fetch(`${httpUrl}/nope`)).status).toBe(404);
    await expect(openRaw(url.replace("/rpc", "/other"))).rejects.toThrow("HTTP 404");
  });
});
