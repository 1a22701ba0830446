/**
 * `tools.list` and `tools.call` over a real socket on the real runtime with the tools plugin: an
 * agent's own permissions apply, a tenant cannot act as another tenant's agent, and calls without
 * `as` are for the operator only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeToolsPlugin } from "../../plugins/tools/plugin.ts";
import { ArborClient, RpcError } from "../../protocols/client/index.ts";
import { toolMethods } from "../../protocols/ws/extra/tools.ts";
import { type RunningRuntime, startRuntimeServer } from "./runtime.ts";

let running: RunningRuntime;
beforeAll(async () => {
  running = await startRuntimeServer(
    {
      tokens: [
        { token: "tok-alice-0001", tenant: "alice" },
        { token: "tok-bob-0002", tenant: "bob" },
      ],
    },
    {},
    [makeToolsPlugin()],
    (system) => toolMethods(system),
  );
});
afterAll(async () => {
  await running.close();
});

const spec = {
  name: "crew",
  root: {
    name: "lead",
    kind: "parent",
    model: { provider: "scripted", script: [{ text: "ok" }] },
    children: [
      { name: "helper", kind: "micro", handler: "upper" },
      { name: "quiet", kind: "child", tools: { allow: ["send_to_agent"] } },
    ],
  },
};

const rpcError = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected an error");
    },
    (e: unknown) => e as RpcError,
  );

describe("tools.*", () => {
  it("lists an agent's tools with its permissions, and calls a tool as that agent", async () => {
    const alice = await ArborClient.connect(running.url, { token: "tok-alice-0001" });
    try {
      const { root } = await alice.spawn(spec);
      const all = (await alice.request("tools.list", { agent: root })) as { tools: Array<{ name: string }> };
      expect(all.tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(["spawn_agent", "send_to_agent", "handoff"]),
      );
      const quiet = (await alice.request("tools.list", { agent: `${root}/quiet` })) as {
        tools: Array<{ name: string }>;
      };
      expect(quiet.tools.map((t) => t.name)).toEqual(["send_to_agent"]);
      const sent = (await alice.request("tools.call", {
        name: "send_to_agent",
        args: { to: `${root}/helper`, message: "hi" },
        as: `${root}/quiet`,
      })) as {
        ok: boolean;
      };
      expect(sent.ok).toBe(true);
      const refused = (await alice.request("tools.call", {
        name: "spawn_agent",
        args: { spec: { name: "x", kind: "micro", handler: "echo" } },
        as: `${root}/quiet`,
      })) as {
        ok: boolean;
        content: string;
      };
      expect(refused.ok).toBe(false);
      expect(refused.content).toMatch(/spawn_agent/);
      const spawned = (await alice.request("tools.call", {
        name: "spawn_agent",
        args: { spec: { name: "x", kind: "micro", handler: "echo" } },
        as: root,
      })) as {
        ok: boolean;
      };
      expect(spawned.ok).toBe(true);
      expect((await alice.ask(`${root}/x`, "new")).output).toBe("new");
    } finally {
      await alice.close();
    }
  });

  it("keeps tenants apart and reserves operator calls for the operator", async () => {
    const alice = await ArborClient.connect(running.url, { token: "tok-alice-0001" });
    const bob = await ArborClient.connect(running.url, { token: "tok-bob-0002" });
    try {
      const { root } = await alice.spawn({ ...spec, name: "private" });
      const notYours = await rpcError(
        bob.request("tools.call", { name: "send_to_agent", args: { to: root, message: "x" }, as: root }),
      );
      expect(notYours).toBeInstanceOf(RpcError);
      expect(notYours.data).toMatchObject({ reason: "agent_not_found" });
      const operatorOnly = await rpcError(
        bob.request("tools.call", { name: "send_to_agent", args: { to: root, message: "x" } }),
      );
      expect(operatorOnly.data).toMatchObject({ reason: "operator_only" });
      const badParams = await rpcError(alice.request("tools.call", { args: {} }));
      expect(badParams.code).toBe(-32602);
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});
