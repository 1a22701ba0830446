/**
 * Every method end to end, over a real socket on 127.0.0.1, against the real runtime (scripted
 * provider, built-in handlers, guardrails, tripwires), and every application error code a client can
 * provoke, each with its stable reason and fault.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArborClient, RpcError } from "../../protocols/client/index.ts";
import { defaultServerOptions } from "../../protocols/ws/options.ts";
import { demoSpec, type RunningRuntime, startRuntimeServer } from "./runtime.ts";

let running: RunningRuntime;
let client: ArborClient;
beforeAll(async () => {
  running = await startRuntimeServer({ limits: { ...defaultServerOptions.limits, maxTreesPerTenant: 3 } });
  client = await ArborClient.connect(running.url);
});
afterAll(async () => {
  await client.close();
  await running.close();
});

const failure = (p: Promise<unknown>): Promise<RpcError> =>
  p.then(
    (value) => {
      throw new Error(`expected an error, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => {
      if (!(error instanceof RpcError)) throw error;
      return error;
    },
  );

describe("tree.* and agent.*", () => {
  it("spawns, lists, inspects, asks, sends, stops an agent and stops the tree", async () => {
    const { treeId, root } = await client.spawn(demoSpec("methods"));
    expect(root).toBe(`/${treeId}/lead`);
    expect(await client.trees()).toEqual([
      expect.objectContaining({ treeId, root, status: "running", agents: 4 }),
    ]);

    const tree = await client.inspect(treeId);
    expect(tree).toMatchObject({
      address: root,
      name: "lead",
      kind: "parent",
      status: "running",
      restarts: 0,
    });
    expect(tree.children.map((c) => [c.name, c.kind, c.status])).toEqual([
      ["echo", "micro", "running"],
      ["upper", "micro", "running"],
      ["writer", "child", "running"],
    ]);

    const reply = await client.ask(root, "hello");
    expect(reply.output).toContain("lead heard: hello");
    expect(reply.output).toContain("[upper] HELLO");
    expect(reply.usage.outputTokens).toBeGreaterThan(0);
    expect(await client.ask(tree.children[1]!.id, "by id")).toMatchObject({ output: "BY ID" });
    expect(await client.send(`${root}/echo`, "fire and forget")).toEqual({ sent: true });

    expect(await client.stopAgent(`${root}/upper`)).toEqual({ stopped: true });
    const after = await client.inspect(treeId);
    expect(after.children.map((c) => c.name)).toEqual(["echo", "writer"]);

    expect(await client.stopTree(treeId, "done")).toEqual({ treeId, stopped: true });
    expect(await client.trees()).toEqual([]);
  });

  it("restarts a killed child under its supervisor and reports it in inspect", async () => {
    const { treeId, root } = await client.spawn(demoSpec("kill"));
    expect(await client.kill(`${root}/writer`, "fault drill")).toEqual({ killed: true });
    await expect
      .poll(async () => (await client.inspect(treeId)).children.find((c) => c.name === "writer")?.restarts)
      .toBe(1);
    expect(await client.ask(`${root}/writer`, "again")).toMatchObject({ output: "draft: again" });
    await client.stopTree(treeId);
  });

  it("answers runtime.stats with the runtime's counters", async () => {
    const stats = await client.stats();
    expect(stats).toEqual({
      trees: expect.any(Number),
      agentsLive: expect.any(Number),
      messagesRouted: expect.any(Number),
      messagesDropped: expect.any(Number),
      restarts: expect.any(Number),
      providerCalls: expect.any(Number),
      tokens: expect.any(Number),
      errors: expect.any(Number),
    });
    expect(stats.messagesRouted).toBeGreaterThan(0);
  });
});

describe("application errors", () => {
  const errSpec = {
    name: "errs",
    root: {
      name: "lead",
      kind: "parent",
      model: { provider: "scripted", script: [{ text: "ok" }] },
      children: [
        {
          name: "guarded",
          kind: "child",
          guardrails: { deny: ["forbidden"] },
          model: { provider: "scripted", script: [{ text: "fine" }] },
        },
        {
          name: "crashy",
          kind: "child",
          restart: "temporary",
          model: { provider: "scripted", script: [{ crash: "boom" }] },
        },
        {
          name: "failing",
          kind: "child",
          model: { provider: "scripted", script: [{ error: "upstream down" }] },
        },
        {
          name: "slow",
          kind: "child",
          mailbox: { capacity: 1, overflow: "fail" },
          model: { provider: "scripted", script: [{ text: "late", delayMs: 600_000 }] },
        },
      ],
    },
  };
  let root = "";
  beforeAll(async () => {
    root = (await client.spawn(errSpec)).root;
  });

  it("not found (-32002) for an unknown agent or tree", async () => {
    expect(await failure(client.ask("/nowhere/x", "hi"))).toMatchObject({
      code: -32002,
      reason: "agent_not_found",
      fault: "user",
    });
    expect(await failure(client.inspect("nowhere"))).toMatchObject({
      code: -32002,
      reason: "tree_not_found",
    });
  });

  it("invalid params (-32602) for an invalid spec, with JSON paths into the spec", async () => {
    const error = await failure(
      client.spawn({
        name: "bad",
        root: { name: "x", kind: "micro", handler: "nope", children: [], extra: 1 },
      }),
    );
    expect(error).toMatchObject({ code: -32602, reason: "invalid_spec", fault: "user" });
    const paths = (error.data.problems as Array<{ path: string }>).map((p) => p.path);
    expect(paths.every((p) => p.startsWith("$.params.spec.root"))).toBe(true);
  });

  it("guardrail violation (-32003) when a guardrail blocks the input", async () => {
    expect(await failure(client.ask(`${root}/guarded`, "this is forbidden"))).toMatchObject({
      code: -32003,
      reason: "blocked",
      fault: "user",
      data: expect.objectContaining({ policy: "deny", stage: "input" }),
    });
  });

  it("agent failed (-32009) when the asked agent crashes", async () => {
    expect(await failure(client.ask(`${root}/crashy`, "hi"))).toMatchObject({
      code: -32009,
      reason: "crashed",
    });
  });

  it("provider error (-32010) when the model provider fails, blaming the third party", async () => {
    expect(await failure(client.ask(`${root}/failing`, "hi"))).toMatchObject({
      code: -32010,
      fault: "third_party",
      data: expect.objectContaining({ provider: "scripted" }),
    });
  });

  it("tripwire (-32004) when a stop-tree tripwire fires on the reply", async () => {
    const { root: wired } = await client.spawn({
      name: "wired",
      root: {
        name: "talker",
        kind: "child",
        tripwires: { maxOutputChars: 10, action: "stop-tree" },
        model: { provider: "scripted", script: [{ text: "a reply far longer than ten characters" }] },
      },
    });
    expect(await failure(client.ask(wired, "talk"))).toMatchObject({
      code: -32004,
      reason: "tripwire",
      data: expect.objectContaining({ tripwire: "maxOutputChars", threshold: 10 }),
    });
  });

  it("timeout (-32008) when the reply does not come within timeoutMs", async () => {
    expect(await failure(client.ask(`${root}/slow`, "hi", 20))).toMatchObject({
      code: -32008,
      reason: "timeout",
    });
  });

  it("overloaded (-32007) when the target's mailbox is full", async () => {
    // The slow agent is busy with the timed-out ask; one message fills its mailbox of 1.
    const codes: Array<number> = [];
    for (let i = 0; i < 3; i++) {
      await client.send(`${root}/slow`, "x").then(
        () => codes.push(0),
        (e: RpcError) => codes.push(e.code),
      );
    }
    expect(codes).toContain(-32007);
  });

  it("not allowed (-32011, limit) past the tenant's tree limit", async () => {
    const spawned = [];
    let error: RpcError | undefined;
    for (let i = 0; i < 4 && error === undefined; i++) {
      await client.spawn(demoSpec(`limit${i}`)).then(
        (t) => spawned.push(t),
        (e: RpcError) => {
          error = e;
        },
      );
    }
    expect(error).toMatchObject({
      code: -32011,
      reason: "limit",
      fault: "user",
      data: expect.objectContaining({ limit: 3 }),
    });
    for (const t of await client.trees()) if (t.name.startsWith("limit")) await client.stopTree(t.treeId);
  });
});
