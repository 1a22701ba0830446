/**
 * Who may connect: bearer tokens in the Authorization header or the browser subprotocol, loopback-only
 * without a token, refusing to bind beyond loopback without one, and tenants kept apart.
 */
import { Effect, Either, Exit, Scope } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { ArborClient, ConnectionClosed, RpcError } from "../../protocols/client/index.ts";
import { resolveServerOptions } from "../../protocols/ws/options.ts";
import { makeWsServer } from "../../protocols/ws/server.ts";
import { AgentSystem } from "../../runtime/system.ts";
import { openRaw, type Running, startServer } from "./harness.ts";
import { makeStubSystem } from "./stub-system.ts";

const tokenA = "token-for-tenant-a-0123456789";
const tokenB = "token-for-tenant-b-0123456789";
const tokens = [
  { token: tokenA, tenant: "a" },
  { token: tokenB, tenant: "b" },
];

let running: Running | undefined;
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
    running = await startServer(makeStubSystem().system, { tokens });
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
    running = await startServer(makeStubSystem().system);
    const local = await connect(running.url);
    expect(await local.trees()).toEqual([]);
    await expect(openRaw(running.url, { origin: "https://evil.example" })).rejects.toThrow("HTTP 403");
    const devPage = await openRaw(running.url, { origin: "http://localhost:5173" });
    devPage.close();
  });

  it("refuses to listen beyond loopback without a token", async () => {
    const scope = Effect.runSync(Scope.make());
    const exit = await Effect.runPromiseExit(
      makeWsServer({ host: "0.0.0.0", port: 0 }).pipe(
        Effect.provideService(AgentSystem, makeStubSystem().system),
        Scope.extend(scope),
      ),
    );
    await Effect.runPromise(Scope.close(scope, Exit.void));
    expect(Exit.isFailure(exit)).toBe(true);
    expect(JSON.stringify(exit)).toContain("insecure_bind");
  });

  it("keeps /metrics behind the token when tokens are configured", async () => {
    running = await startServer(makeStubSystem().system, { tokens });
    expect((await fetch(`${running.httpUrl}/metrics`)).status).toBe(401);
    const ok = await fetch(`${running.httpUrl}/metrics`, { headers: { authorization: `Bearer ${tokenB}` } });
    expect(ok.status).toBe(200);
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
    running = await startServer(makeStubSystem().system, { tokens });
    const a = await connect(running.url, tokenA);
    const b = await connect(running.url, tokenB);
    const tree = await a.spawn({ name: "secret" });
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
    expect((await a.ask(tree.root, "hi")).output).toBe("echo: hi");
  });

  it("delivers a tree's events only to its own tenant's subscribers", async () => {
    running = await startServer(makeStubSystem().system, { tokens });
    const a = await connect(running.url, tokenA);
    const b = await connect(running.url, tokenB);
    const seenA: Array<string> = [];
    const seenB: Array<string> = [];
    await a.subscribe({}, (e) => seenA.push(`${e.type} ${e.tree}`));
    await b.subscribe({}, (e) => seenB.push(`${e.type} ${e.tree}`));
    const ta = await a.spawn({ name: "alpha" });
    const tb = await b.spawn({ name: "beta" });
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
    const stub = makeStubSystem();
    running = await startServer(stub.system, { shutdownGraceMs: 0 });
    const c = await connect(running.url);
    const tree = await c.spawn({ name: "t" });
    stub.gate.close();
    const pending = c.ask(tree.root, "never").then(
      () => undefined,
      (e: unknown) => e,
    );
    await expect.poll(stub.waiting).toBe(1);
    await running.close();
    running = undefined;
    const error = await pending;
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).reason).toBe("shutting_down");
    await expect(c.trees()).rejects.toBeInstanceOf(ConnectionClosed);
  });
});
