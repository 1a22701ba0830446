/**
 * Kernel v2 over the wire: `agent.cancel`, a disconnecting asker, threads and `agent.history`, each
 * kept inside the caller's tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArborClient, RpcError } from "../../protocols/client/index.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { type RunningRuntime, startRuntimeServer } from "./runtime.ts";

const tokenA = "token-for-kernel-tenant-a-0001";
const tokenB = "token-for-kernel-tenant-b-0002";

let running: RunningRuntime;
let a: ArborClient;
let b: ArborClient;
const events: ArborEvent[] = [];
beforeAll(async () => {
  running = await startRuntimeServer({
    tokens: [
      { token: tokenA, tenant: "a" },
      { token: tokenB, tenant: "b" },
    ],
  });
  running.runtime.events.listen((e) => events.push(e));
  a = await ArborClient.connect(running.url, { token: tokenA });
  b = await ArborClient.connect(running.url, { token: tokenB });
});
afterAll(async () => {
  for (const c of [a, b]) await c.close();
  await running.close();
});

/** Resolves once an event matching `match` has been published. */
const seen = (match: (e: ArborEvent) => boolean) =>
  new Promise<ArborEvent>((resolve) => {
    const found = events.find(match);
    if (found) return resolve(found);
    const stop = running.runtime.events.listen((e) => {
      if (match(e)) {
        stop();
        resolve(e);
      }
    });
  });

const worker = (name: string) => ({
  name,
  root: {
    name: "w",
    kind: "child",
    history: { maxMessages: 6 },
    model: { provider: "scripted", script: [{ delayMs: 60_000, text: "late" }, { text: "re: {{input}}" }] },
  },
});

const rpcError = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected an error");
    },
    (e: unknown) => e as RpcError,
  );

describe("agent.cancel", () => {
  it("cancels the caller's ask in flight (-32016 cancelled, fault user); the agent answers the next at once", async () => {
    const { root } = await a.spawn(worker("cancel"));
    const asked = rpcError(a.ask(root, "slow", { requestId: "r-1" }));
    await seen((e) => e.type === "agent.task" && e.address === root);
    // Another tenant cannot reach it.
    expect((await rpcError(b.cancel(root, "r-1"))).data).toMatchObject({ reason: "agent_not_found" });
    expect(await a.cancel(root, "r-1")).toEqual({ cancelled: true });
    const error = await asked;
    expect(error).toBeInstanceOf(RpcError);
    expect(error.code).toBe(-32016);
    expect(error.data).toMatchObject({ reason: "cancelled", fault: "user" });
    expect((await a.ask(root, "quick")).output).toBe("re: quick");
  });
});

describe("a disconnecting asker", () => {
  it("interrupts its ask in flight; the agent answers another client at once", async () => {
    const { root } = await a.spawn(worker("disconnect"));
    const gone = await ArborClient.connect(running.url, { token: tokenA });
    gone.ask(root, "slow", { requestId: "will-leave" }).catch(() => {});
    await seen((e) => e.type === "agent.task" && e.address === root);
    await gone.close();
    expect(await seen((e) => e.type === "agent.cancelled" && e.address === root)).toMatchObject({
      requestId: "will-leave",
    });
    expect((await a.ask(root, "still there?")).output).toBe("re: still there?");
  });
});

describe("threads over the wire", () => {
  it("agent.ask with a thread, then agent.history returns the exchange (tenant-scoped)", async () => {
    const { root } = await a.spawn({
      name: "chat",
      root: {
        name: "c",
        kind: "child",
        history: { maxMessages: 6 },
        model: { provider: "scripted", script: [{ text: "re: {{input}}" }] },
      },
    });
    await a.ask(root, "hello", { thread: "conv-1" });
    expect(await a.history(root, "conv-1")).toEqual({
      thread: "conv-1",
      messages: [
        { role: "user", content: "hello" },
        { role: "assistant", content: "re: hello" },
      ],
    });
    expect((await a.history(root, "other")).messages).toEqual([]);
    expect((await rpcError(b.history(root, "conv-1"))).data).toMatchObject({ reason: "agent_not_found" });
  });
});
