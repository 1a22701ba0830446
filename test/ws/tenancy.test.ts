/**
 * The tenant boundary beyond the tree methods: agents and tools resolve addresses only inside their
 * tenant (another tenant's agent is an agent that does not exist), tree ids tell nothing of what
 * others run, `/metrics` is the operator's and `runtime.stats` counts only the caller's, and spec
 * errors quote no server path.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Exit, Scope } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { makeToolsPlugin } from "../../plugins/tools/plugin.ts";
import { ArborClient } from "../../protocols/client/index.ts";
import { toolMethods } from "../../protocols/ws/extra/tools.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import { demoSpec, type RunningRuntime, startRuntimeServer } from "./runtime.ts";

const tokenA = "token-for-tenant-a-0123456789";
const tokenB = "token-for-tenant-b-0123456789";
const tokenOp = "token-for-the-operator-012345";

let running: RunningRuntime;
let a: ArborClient;
let b: ArborClient;
let op: ArborClient;
beforeAll(async () => {
  running = await startRuntimeServer(
    {
      tokens: [
        { token: tokenA, tenant: "a" },
        { token: tokenB, tenant: "b" },
        { token: tokenOp, tenant: "default" },
      ],
    },
    {},
    [makeToolsPlugin()],
    (system) => toolMethods(system),
  );
  a = await ArborClient.connect(running.url, { token: tokenA });
  b = await ArborClient.connect(running.url, { token: tokenB });
  op = await ArborClient.connect(running.url, { token: tokenOp });
});
afterAll(async () => {
  for (const c of [a, b, op]) await c.close();
  await running.close();
});

/** B's model calls `tool` with `args`, then answers with what the tool returned. */
const probe = async (tool: string, args: Record<string, unknown>) => {
  const tree = await b.spawn({
    name: "probe",
    root: {
      name: "spy",
      kind: "parent",
      model: {
        provider: "scripted",
        script: [{ toolCalls: [{ name: tool, args }] }, { text: "tool said: {{tool}}" }],
      },
    },
  });
  const { output } = await b.ask(tree.root, "go");
  await b.stopTree(tree.treeId);
  return { output, root: tree.root };
};

describe("agents and tools stay inside their tenant", () => {
  it("a tenant's model cannot reach another tenant's agent with send_to_agent or handoff", async () => {
    const victim = await a.spawn(demoSpec("vault"));
    const target = `${victim.root}/upper`;
    const missing = `/${victim.treeId}/nobody`;
    expect((await a.ask(target, "secret")).output).toBe("SECRET");

    const sent = await probe("send_to_agent", { to: target, message: "secret", await: true });
    const none = await probe("send_to_agent", { to: missing, message: "secret", await: true });
    expect(sent.output).not.toContain("SECRET");
    expect(sent.output).toContain("not found");
    expect(sent.output.replace(target, "<to>")).toBe(none.output.replace(missing, "<to>"));

    const handed = await probe("handoff", { to: target, task: "secret", await: true });
    const handedNone = await probe("handoff", { to: missing, task: "secret", await: true });
    expect(handed.output).not.toContain("SECRET");
    expect(handed.output.replace(target, "<to>")).toBe(handedNone.output.replace(missing, "<to>"));
    await a.stopTree(victim.treeId);
  });

  it("tools.call as a tenant's own agent cannot reach another tenant's agent", async () => {
    const victim = await a.spawn(demoSpec("vault"));
    const target = `${victim.root}/upper`;
    const missing = `/${victim.treeId}/nobody`;
    const mine = await b.spawn(demoSpec("mine"));
    const call = (to: string) =>
      b.request("tools.call", {
        name: "send_to_agent",
        args: { to, message: "secret", await: true },
        as: mine.root,
      }) as Promise<{ ok: boolean; error?: string; output?: unknown }>;
    const foreign = await call(target);
    const none = await call(missing);
    expect(foreign.ok).toBe(false);
    expect(JSON.stringify(foreign)).not.toContain("SECRET");
    const shown = (r: object, to: string) => JSON.stringify({ ...r, callId: "" }).replace(to, "<to>");
    expect(shown(foreign, target)).toBe(shown(none, missing));
    // Its own agents it still reaches.
    expect(await call(`${mine.root}/upper`)).toMatchObject({ ok: true });
    await a.stopTree(victim.treeId);
    await b.stopTree(mine.treeId);
  });
});

describe("tree ids", () => {
  it("do not tell a tenant what another runs, and still work for every method", async () => {
    const first = await a.spawn(demoSpec("atree"));
    const mine = await b.spawn(demoSpec("atree"));
    expect(mine.treeId).not.toMatch(/^atree(-\d+)?$/);
    expect(mine.treeId.startsWith("atree-")).toBe(true);
    expect(mine.treeId).not.toBe(first.treeId);
    expect((await b.trees()).map((t) => t.treeId)).toEqual([mine.treeId]);
    expect((await b.inspect(mine.treeId)).address).toBe(mine.root);
    const seen: Array<string> = [];
    await b.subscribe({ treeId: mine.treeId, types: ["agent.*"] }, (e) => seen.push(e.address));
    expect((await b.ask(`${mine.root}/upper`, "hi")).output).toBe("HI");
    await b.stopTree(mine.treeId);
    await expect.poll(() => seen.includes(`${mine.root}/upper`)).toBe(true);
    // The operator keeps readable ids.
    const operators = await op.spawn(demoSpec("atree"));
    expect(operators.treeId).toBe("atree");
    await op.stopTree(operators.treeId);
    await a.stopTree(first.treeId);
  });
});

describe("runtime-wide events", () => {
  it("reach the operator's subscriptions, never a tenant's", async () => {
    const seenB: Array<string> = [];
    const seenOp: Array<string> = [];
    await b.subscribe({}, (e) => seenB.push(e.type));
    await op.subscribe({ types: ["memory.*"] }, (e) => seenOp.push(e.type));
    // A runtime-wide event (no tree), as the memory store publishes for every write.
    await Effect.runPromise(
      running.runtime.events.publish({
        type: "memory.written",
        tree: "",
        address: "/",
        id: "memory",
        kind: "fact",
        key: "a's secret fact",
      }),
    );
    await expect.poll(() => seenOp).toEqual(["memory.written"]);
    // Events reach a connection in order: once B sees its own later event, the earlier one is settled.
    const mine = await b.spawn(demoSpec("later"));
    await expect.poll(() => seenB.includes("tree.started")).toBe(true);
    expect(seenB).not.toContain("memory.written");
    await b.stopTree(mine.treeId);
  });
});

describe("runtime figures", () => {
  it("keeps /metrics for the operator and shows a tenant only its own runtime.stats", async () => {
    const tenant = await fetch(`${running.httpUrl}/metrics`, {
      headers: { authorization: `Bearer ${tokenB}` },
    });
    expect(tenant.status).toBe(403);
    const operator = await fetch(`${running.httpUrl}/metrics`, {
      headers: { authorization: `Bearer ${tokenOp}` },
    });
    expect(operator.status).toBe(200);
    expect(await operator.text()).toContain("arbor_messages_routed_total");

    const bBefore = await b.stats();
    const aBefore = await a.stats();
    const busy = await a.spawn(demoSpec("busy"));
    await a.ask(`${busy.root}/upper`, "hi");
    const ofB = await b.stats();
    // A's tree and traffic do not show in B's figures.
    expect(ofB).toMatchObject({ trees: 0, agentsLive: 0, messagesRouted: bBefore.messagesRouted });
    const ofA = await a.stats();
    expect(ofA.trees).toBe(1);
    expect(ofA.agentsLive).toBe(4);
    expect(ofA.messagesRouted).toBeGreaterThan(aBefore.messagesRouted);
    const all = await op.stats();
    expect(all.messagesRouted).toBeGreaterThanOrEqual(ofA.messagesRouted + ofB.messagesRouted);
    expect(all.trees).toBe(1);
    await a.stopTree(busy.treeId);
  });
});

describe("spec errors", () => {
  it("quote the tools root relative to the configured root, not the server's path", async () => {
    const root = mkdtempSync(join(tmpdir(), "arbor-tenant-root-"));
    const scope = Effect.runSync(Scope.make());
    try {
      const exit = await Effect.runPromiseExit(
        Effect.gen(function* () {
          const system = yield* makeAgentSystem({
            plugins: [scriptedPlugin, makeToolsPlugin()],
            config: { tools: { root: join(root, "work") } },
          });
          return yield* system.spawnTree(
            {
              name: "escape",
              root: { name: "lead", kind: "child", tools: { root: "/etc" }, model: { provider: "scripted" } },
            },
            { tenant: "b" },
          );
        }).pipe(Scope.extend(scope)),
      );
      expect(Exit.isFailure(exit)).toBe(true);
      const text = JSON.stringify(exit);
      expect(text).toContain("root /etc is outside the root above (.)");
      expect(text).not.toContain(root);
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void));
    }
  });
});
