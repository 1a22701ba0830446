/**
 * Event subscriptions end to end on the real runtime: filters, a kill drill seen as events, a slow
 * subscriber (dropped events counted and reported, a hopeless one closed with 4008, the runtime and
 * other subscribers unaffected), and many concurrent clients.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ArborClient } from "../../protocols/client/index.ts";
import { defaultServerOptions } from "../../protocols/ws/options.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { openRaw, type RawSocket } from "./harness.ts";
import { demoSpec, type RunningRuntime, startRuntimeServer } from "./runtime.ts";

let running: RunningRuntime | undefined;
const clients: Array<ArborClient> = [];
const raws: Array<RawSocket> = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const r of raws.splice(0)) r.ws.terminate();
  await running?.close();
  running = undefined;
});
const connect = async (url: string) => {
  const c = await ArborClient.connect(url);
  clients.push(c);
  return c;
};

describe("events.subscribe", () => {
  it("streams a kill drill as agent.failed then agent.restarted, filtered by tree and type", async () => {
    running = await startRuntimeServer();
    const c = await connect(running.url);
    const other = await c.spawn(demoSpec("other"));
    const { treeId, root } = await c.spawn(demoSpec("drill"));
    const seen: Array<ArborEvent> = [];
    const sub = await c.subscribe({ treeId, types: ["agent.failed", "agent.restarted"] }, (e) =>
      seen.push(e),
    );
    await c.kill(`${other.root}/writer`, "not watched");
    await c.kill(`${root}/writer`, "fault drill");
    await expect.poll(() => seen.length).toBe(2);
    expect(seen.map((e) => [e.type, e.address])).toEqual([
      ["agent.failed", `${root}/writer`],
      ["agent.restarted", `${root}/writer`],
    ]);
    expect(seen[1]).toMatchObject({ reason: "fault drill", restarts: 1, strategy: "one_for_one" });

    await sub.unsubscribe();
    const all: Array<string> = [];
    await c.subscribe({ types: ["tree.*"] }, (e) => all.push(`${e.type} ${e.tree}`));
    await c.kill(`${root}/writer`, "after unsubscribe");
    await c.stopTree(treeId);
    await expect.poll(() => all).toEqual([`tree.stopped ${treeId}`]);
    expect(seen).toHaveLength(2);
  });

  it("refuses a malformed type pattern and too many subscriptions with clear errors", async () => {
    running = await startRuntimeServer({ limits: { ...defaultServerOptions.limits, maxSubscriptions: 2 } });
    const c = await connect(running.url);
    const error = await c.call("events.subscribe", { types: ["Agent Failed"] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: -32602, reason: "invalid_params" });
    expect((error as { data: { problems: unknown } }).data.problems).toContainEqual({
      path: "$.params.types[0]",
      message: "expected an event type like agent.restarted, or a pattern like agent.*",
    });
    await c.subscribe({}, () => {});
    await c.subscribe({}, () => {});
    await expect(c.subscribe({}, () => {})).rejects.toMatchObject({ code: -32011, reason: "limit" });
  });
});

describe("slow subscribers", () => {
  /** Publishes `count` 1 KB events on the real runtime's bus, in paced batches so readers can keep up. */
  const flood = async (r: RunningRuntime, treeId: string, count: number) => {
    const input = "x".repeat(1024);
    for (let i = 0; i < count; i++) {
      r.runtime.events.publishSync({
        type: "agent.task",
        tree: treeId,
        address: `/${treeId}/lead`,
        id: "ag_flood",
        requestId: `r${i}`,
        input,
      });
      if (i % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };

  it("drops events for a subscriber that stops reading, reports the count when it catches up, and never slows others", async () => {
    running = await startRuntimeServer({
      backpressure: { highWaterBytes: 256 * 1024, maxDroppedEvents: 1_000_000 },
    });
    const c = await connect(running.url);
    const { treeId } = await c.spawn(demoSpec("flood"));
    const slow = await openRaw(running.url);
    raws.push(slow);
    const subscribed = (await slow.call("events.subscribe", { treeId, types: ["agent.task"] })).result as {
      subscription: string;
    };
    let fastCount = 0;
    await c.subscribe({ treeId, types: ["agent.task"] }, () => {
      fastCount += 1;
    });
    slow.ws.pause();
    await flood(running, treeId, 20_000);
    await expect.poll(() => fastCount).toBe(20_000);
    // The runtime kept going while the slow client read nothing.
    expect(await c.ask(`/${treeId}/lead/echo`, "still here")).toMatchObject({ output: "still here" });
    slow.ws.resume();
    let delivered = 0;
    let dropped: { subscription: string; dropped: number; total: number } | undefined;
    const reader = (async () => {
      for (;;) {
        const frame = (await slow.next()) as {
          method: string;
          params: { requestId?: string; dropped?: number } & Record<string, unknown>;
        };
        if (frame.method === "event") delivered += 1;
        if (frame.method === "events.dropped") {
          dropped = frame.params as typeof dropped;
          return;
        }
      }
    })();
    // Once the backlog drains, the next event carries the drop report in front of it.
    await expect
      .poll(
        async () => {
          await flood(running!, treeId, 1);
          return dropped !== undefined;
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    await reader;
    expect(dropped?.subscription).toBe(subscribed.subscription);
    expect(dropped!.dropped).toBeGreaterThan(0);
    expect(delivered + dropped!.dropped).toBeGreaterThanOrEqual(20_000);
    const metrics = await (await fetch(`${running.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^arbor_ws_events_dropped_total ${dropped!.total}$`, "m"));
  });

  it("closes a hopeless subscriber with 4008 and keeps serving everyone else", async () => {
    running = await startRuntimeServer({
      backpressure: { highWaterBytes: 64 * 1024, maxDroppedEvents: 500 },
    });
    const c = await connect(running.url);
    const { treeId } = await c.spawn(demoSpec("hopeless"));
    const slow = await openRaw(running.url);
    raws.push(slow);
    await slow.call("events.subscribe", { treeId });
    slow.ws.pause();
    await flood(running, treeId, 20_000);
    slow.ws.resume();
    const closed = await slow.closed;
    expect(closed.code).toBe(4008);
    expect(closed.reason).toMatch(/slow consumer/);
    expect(await c.ask(`/${treeId}/lead/upper`, "fine")).toMatchObject({ output: "FINE" });
  });
});

describe("concurrent clients", () => {
  it("answers many clients asking at once, each with its own replies", async () => {
    running = await startRuntimeServer();
    const owner = await connect(running.url);
    const { root } = await owner.spawn(demoSpec("busy"));
    const many = await Promise.all(Array.from({ length: 8 }, () => connect(running!.url)));
    const results = await Promise.all(
      many.map((c, i) =>
        Promise.all(Array.from({ length: 25 }, (_, j) => c.ask(`${root}/upper`, `client ${i} ask ${j}`))),
      ),
    );
    results.forEach((replies, i) => {
      expect(replies.map((r) => r.output)).toEqual(
        Array.from({ length: 25 }, (_, j) => `CLIENT ${i} ASK ${j}`),
      );
    });
  });
});
