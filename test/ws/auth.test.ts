/**
 * Who may connect: bearer tokens in the Authorization header or the browser subprotocol, loopback-only
 * without a token, refusing to bind beyond loopback without one, and tenants kept apart.
 */
import { Either } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { ArborClient, ConnectionClosed, RpcError } from "../../protocols/client/index.ts";
import { resolveServerOptions } from "../../protocols/ws/options.ts";
import { openRaw } from "./harness.ts";
import { demoSpec, type RunningRuntime, startRuntimeServer } from "./runtime.ts";

const tokenA = "token-for-tenant-a-0123456789";
const tokenB = "token-for-tenant-b-0123456789";
const tokens = [
  { token: tokenA, tenant: "a" },
  { token: tokenB, tenant: "b" },
];

let running: RunningRuntime | undefined;
const clients: Array<ArborClient> = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await running?.close();
  running = undefined;
});
const connect = async (url: string, token?: string) => {
  const client = await ArborClient.connect(url, token === undefined ? {} : { token });
  clients.push(client);
  return client;
};

describe("authentication", () => {
  it("refuses upgrades without a valid token with 401 and accepts the header or the subprotocol", async () => {
    running = await startRuntimeServer({ tokens });
    await expect(openRaw(running.url)).rejects.toThrow("HTTP 401");
    await expect(openRaw(running.url, { authorization: "Bearer wrong-token-wrong-token" })).rejects.toThrow(
      "HTTP 401",
    );
    await expect(ArborClient.connect(running.url, { token: "nope-nope-nope-nope" })).rejects.toThrow(
      /HTTP 401.*invalid bearer token/,
    );
    const header = await openRaw(running.url, { authorization: `Bearer ${tokenA}` });
    expect((await header.call("tree.list")).result).toEqual({ trees: [] });
    header.close();
    const browser = await openRaw(running.url, {}, ["arbor.v1", `arbor.bearer.${tokenA}`]);
    expect(browser.ws.protocol).toBe("arbor.v1");
    expect((await browser.call("tree.list")).result).toEqual({ trees: [] });
    browser.close();
  });

  it("without a token accepts loopback clients but refuses cross-site browser origins", async () => {
    running = await startRuntimeServer();
    const local = await connect(running.url);
    expect(await local.trees()).toEqual([]);
    await expect(openRaw(running.url, { origin: "https://evil.example" })).rejects.toThrow("HTTP 403");
    const devPage = await openRaw(running.url, { origin: "http://localhost:5173" });
    devPage.close();
  });

  it("refuses to listen beyond loopback without a token", async () => {
    await expect(startRuntimeServer({ host: "0.0.0.0" })).rejects.toThrow(
      /refusing to listen on 0\.0\.0\.0 without a token/,
    );
    // With a token it may.
    running = await startRuntimeServer({ host: "0.0.0.0", tokens });
    expect(running.server.host).toBe("0.0.0.0");
  });

  it("keeps /metrics behind the token when tokens are configured", async () => {
    running = await startRuntimeServer({ tokens });
    expect((await fetch(`${running.httpUrl}/metrics`)).status).toBe(401);
    // A tenant token is valid but /metrics is runtime-wide: the operator's only.
    const tenant = await fetch(`${running.httpUrl}/metrics`, {
      headers: { authorization: `Bearer ${tokenB}` },
    });
    expect(tenant.status).toBe(403);
  });

  it("reads ARBOR_TOKEN and the server section, refusing short tokens and unknown settings", () => {
    const ok = resolveServerOptions({ port: 9000, limits: { maxInFlight: 8 } }, { ARBOR_TOKEN: tokenA });
    expect(Either.getOrThrow(ok)).toMatchObject({
      port: 9000,
      tokens: [{ token: tokenA, tenant: "default" }],
    });
    expect(Either.getOrThrow(ok).limits.maxInFlight).toBe(8);
    const short = resolveServerOptions({}, { ARBOR_TOKEN: "short" });
    expect(Either.isLeft(short) && short.left[0]?.path).toBe("ARBOR_TOKEN");
    const typo = resolveServerOptions({ limits: { maxInflight: 8 } }, {});
    expect(Either.isLeft(typo) && typo.left[0]).toEqual({
      path: "$.server.limits.maxInflight",
      message: "unknown setting",
    });
  });
});

describe("tenant isolation", () => {
  it("lets a tenant neither see nor touch another tenant's trees and agents", async () => {
    running = await startRuntimeServer({ tokens });
    const a = await connect(running.url, tokenA);
    const b = await connect(running.url, tokenB);
    const tree = await a.spawn(demoSpec("secret"));
    expect((await a.trees()).map((t) => t.treeId)).toEqual([tree.treeId]);
    expect(await b.trees()).toEqual([]);
    const denied = async (p: Promise<unknown>) => {
      const error = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RpcError);
      expect((error as RpcError).code).toBe(-32002);
      return error as RpcError;
    };
    expect((await denied(b.inspect(tree.treeId))).reason).toBe("tree_not_found");
    expect((await denied(b.ask(tree.root, "hi"))).reason).toBe("agent_not_found");
    await denied(b.send(tree.root, "hi"));
    await denied(b.kill(tree.root));
    await denied(b.stopAgent(tree.root));
    await denied(b.stopTree(tree.treeId));
    await denied(b.call("events.subscribe", { treeId: tree.treeId }));
    // Unknown and foreign look the same: no probing.
    const unknown = await denied(b.inspect("no-such-tree"));
    expect(unknown.message).toBe(`tree not found: no-such-tree`);
    expect((await a.ask(`${tree.root}/upper`, "hi")).output).toBe("HI");
  });

  it("delivers a tree's events only to its own tenant's subscribers", async () => {
    running = await startRuntimeServer({ tokens });
    const a = await connect(running.url, tokenA);
    const b = await connect(running.url, tokenB);
    const seenA: Array<string> = [];
    const seenB: Array<string> = [];
    await a.subscribe({ types: ["tree.*"] }, (e) => seenA.push(`${e.type} ${e.tree}`));
    await b.subscribe({ types: ["tree.*"] }, (e) => seenB.push(`${e.type} ${e.tree}`));
    const ta = await a.spawn(demoSpec("alpha"));
    const tb = await b.spawn(demoSpec("beta"));
    await a.stopTree(ta.treeId);
    await b.stopTree(tb.treeId);
    await expect.poll(() => seenA.length).toBe(2);
    await expect.poll(() => seenB.length).toBe(2);
    expect(seenA).toEqual([`tree.started ${ta.treeId}`, `tree.stopped ${ta.treeId}`]);
    expect(seenB).toEqual([`tree.started ${tb.treeId}`, `tree.stopped ${tb.treeId}`]);
  });
});

describe("client", () => {
  it("rejects pending calls with ConnectionClosed when the server goes away", async () => {
    running = await startRuntimeServer({ shutdownGraceMs: 0 });
    const c = await connect(running.url);
    const { root } = await c.spawn({
      name: "slow",
      root: {
        name: "lead",
        kind: "child",
        model: { provider: "scripted", script: [{ text: "late", delayMs: 600_000 }] },
      },
    });
    const pending = c.ask(root, "never").then(
      () => undefined,
      (e: unknown) => e,
    );
    await expect.poll(async () => (await c.trees())[0]?.status).toBe("running");
    await running.close();
    running = undefined;
    const error = await pending;
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).reason).toBe("shutting_down");
    await expect(c.trees()).rejects.toBeInstanceOf(ConnectionClosed);
  });
});
