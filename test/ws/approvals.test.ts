/**
 * Human approval of tool calls over a real server: a scripted model calls `write_file` under
 * `tools.approve`; the call waits (`approval.requested`), nothing is written until a person approves
 * on the wire, a denial reaches the model with its reason, edited arguments are checked against the
 * tool's schema, tenants see only their own approvals, and an undecided call is denied at its timeout.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Exit, Scope } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guardrailsPlugin } from "../../plugins/guardrails/plugin.ts";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { makeToolsPlugin } from "../../plugins/tools/plugin.ts";
import { tripwiresPlugin } from "../../plugins/tripwires/plugin.ts";
import { ArborClient, type RpcError } from "../../protocols/client/index.ts";
import { makeWsServer } from "../../protocols/ws/server.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { AgentSystem } from "../../runtime/system.ts";

const tokenA = "token-approvals-tenant-a-01";
const tokenB = "token-approvals-tenant-b-02";

/** A real runtime (scripted model, file tools under `root`) and a server on it. */
const start = async (root: string, config: Record<string, unknown> = {}) => {
  const scope = Effect.runSync(Scope.make());
  const server = await Effect.runPromise(
    Effect.gen(function* () {
      const runtime = yield* makeAgentSystem({
        plugins: [scriptedPlugin, guardrailsPlugin, tripwiresPlugin, makeToolsPlugin({ root })],
        config,
      });
      return yield* makeWsServer({
        host: "127.0.0.1",
        port: 0,
        tokens: [
          { token: tokenA, tenant: "a" },
          { token: tokenB, tenant: "b" },
        ],
      }).pipe(Effect.provideService(AgentSystem, runtime));
    }).pipe(Scope.extend(scope)),
  );
  return {
    url: server.url,
    close: () => Effect.runPromise(Effect.zipRight(server.shutdown(), Scope.close(scope, Exit.void))),
  };
};

/** A writer whose model calls write_file, then says what the tool answered. */
const writerSpec = (name: string, file: string) => ({
  name,
  root: {
    name: "writer",
    kind: "child",
    tools: { allow: ["write_file"], approve: ["write_*"] },
    model: {
      provider: "scripted",
      script: [
        { toolCalls: [{ name: "write_file", args: { path: file, content: "hello from the model" } }] },
        { text: "tool said: {{tool}}" },
      ],
    },
  },
});

/** Resolves with the first `approval.requested` the client sees. */
const nextRequest = async (client: ArborClient) => {
  let stop: (() => Promise<void>) | undefined;
  const requested = new Promise<Extract<ArborEvent, { type: "approval.requested" }>>((resolve) => {
    void client
      .subscribe({ types: ["approval.requested"] }, (e) => {
        if (e.type === "approval.requested") resolve(e);
      })
      .then((s) => {
        stop = s.unsubscribe;
      });
  });
  const event = await requested;
  await stop?.();
  return event;
};

const rpcError = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected an error");
    },
    (e: unknown) => e as RpcError,
  );

let root: string;
let server: Awaited<ReturnType<typeof start>>;
let a: ArborClient;
let b: ArborClient;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "arbor-approvals-"));
  server = await start(root);
  a = await ArborClient.connect(server.url, { token: tokenA });
  b = await ArborClient.connect(server.url, { token: tokenB });
});
afterAll(async () => {
  for (const c of [a, b]) await c.close();
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

describe("approvals over the wire", () => {
  it("writes nothing until approval.decide approve; the other tenant sees nothing", async () => {
    const { root: writer, treeId } = await a.spawn(writerSpec("approve-me", "approved.txt"));
    const requested = nextRequest(a);
    const answer = a.ask(writer, "write the note");
    const request = await requested;
    expect(request).toMatchObject({ tree: treeId, address: writer, tool: "write_file" });
    expect(request.args).toEqual({ path: "approved.txt", content: "hello from the model" });
    expect(request.expiresAt).toBeGreaterThan(request.requestedAt);
    expect(existsSync(join(root, "approved.txt"))).toBe(false);

    expect((await a.approvals()).map((p) => p.approvalId)).toEqual([request.approvalId]);
    expect(await b.approvals()).toEqual([]);
    const foreign = await rpcError(b.decide(request.approvalId, { decision: "approve" }));
    expect(foreign.data).toMatchObject({ reason: "approval_not_found", fault: "user" });

    const decided = await a.decide(request.approvalId, { decision: "approve" });
    expect(decided).toEqual({ approvalId: request.approvalId, decision: "approve", by: "a" });
    expect((await answer).output).toBe("tool said: wrote 20 bytes to approved.txt");
    expect(readFileSync(join(root, "approved.txt"), "utf8")).toBe("hello from the model");
    expect(await a.approvals()).toEqual([]);
    const again = await rpcError(a.decide(request.approvalId, { decision: "deny" }));
    expect(again.data).toMatchObject({ reason: "already_decided" });
  });

  it("a denial reaches the model with its reason, and nothing is written", async () => {
    const { root: writer } = await a.spawn(writerSpec("deny-me", "denied.txt"));
    const requested = nextRequest(a);
    const answer = a.ask(writer, "write the note");
    const request = await requested;
    await a.decide(request.approvalId, { decision: "deny", reason: "not in the release branch" });
    const { output } = await answer;
    expect(output).toContain("denied by a: not in the release branch");
    expect(existsSync(join(root, "denied.txt"))).toBe(false);
  });

  it("edited arguments are checked against the tool's schema, then run instead of the model's", async () => {
    const { root: writer } = await a.spawn(writerSpec("edit-me", "edited.txt"));
    const requested = nextRequest(a);
    const answer = a.ask(writer, "write the note");
    const request = await requested;
    const bad = await rpcError(
      a.decide(request.approvalId, { decision: "approve", args: { path: "edited.txt", content: 42 } }),
    );
    expect(bad.code).toBe(-32602);
    expect(bad.data).toMatchObject({ reason: "invalid_args", fault: "user" });
    expect(bad.message).toContain("content");
    await a.decide(request.approvalId, {
      decision: "approve",
      args: { path: "edited.txt", content: "edited by a person" },
    });
    await answer;
    expect(readFileSync(join(root, "edited.txt"), "utf8")).toBe("edited by a person");
  });

  it("onApproval on the typed client decides as requests arrive", async () => {
    const { root: writer } = await a.spawn(writerSpec("handler", "handled.txt"));
    const stop = await a.onApproval((request) =>
      request.tool === "write_file" ? { decision: "deny", reason: "handler says no" } : undefined,
    );
    try {
      const { output } = await a.ask(writer, "write the note");
      expect(output).toContain("handler says no");
    } finally {
      await stop();
    }
  });
});

describe("approval timeout", () => {
  it("an undecided call is denied at approvals.timeoutMs and the model is told", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arbor-approvals-timeout-"));
    const short = await start(dir, { approvals: { timeoutMs: 200 } });
    const client = await ArborClient.connect(short.url, { token: tokenA });
    try {
      const { root: writer } = await client.spawn(writerSpec("slow-people", "late.txt"));
      const decided = new Promise<ArborEvent>((resolve) => {
        void client.subscribe({ types: ["approval.decided"] }, resolve);
      });
      const { output } = await client.ask(writer, "write the note");
      expect(output).toContain("denied by timeout");
      expect(await decided).toMatchObject({ decision: "deny", by: "timeout" });
      expect(existsSync(join(dir, "late.txt"))).toBe(false);
    } finally {
      await client.close();
      await short.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a stopped tree", () => {
  it("leaves no approval behind: the list is empty and the id is unknown", async () => {
    const { root: writer, treeId } = await a.spawn(writerSpec("stopped-early", "never.txt"));
    const requested = nextRequest(a);
    const answer = a.ask(writer, "write the note").catch((e: unknown) => e);
    const request = await requested;
    await a.stopTree(treeId, "changed my mind");
    await answer;
    expect(await a.approvals()).toEqual([]);
    const gone = await rpcError(a.decide(request.approvalId, { decision: "approve" }));
    expect(gone.data).toMatchObject({ reason: "approval_not_found" });
    expect(existsSync(join(root, "never.txt"))).toBe(false);
  });
});
