/**
 * Durable trees across a real crash: `arbor serve` on the embedded store is SIGKILLed while a durable
 * tree's agent waits for its model, after a tool (a real MCP server that counts its runs in a file)
 * has run. A new `arbor serve` on the same data dir brings the tree back before it accepts
 * connections: the same tree id is listed (durable, with resumedAt), the model call that was cut off
 * is made again, the journaled tool is not run again, the ask repeated with its idempotency key gets
 * the answer, and a follow-up ask on the same thread sends the earlier exchange to the model.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { ArborClient } from "../../protocols/client/index.ts";
import { openaiCompletion, startWireServer, type WireServer } from "../providers/wire-server.ts";
import { removeDataDir, seededDataDir } from "../support/seeded-data-dir.ts";

const main = join(import.meta.dirname, "..", "..", "bin", "arbor.mjs");
const dir = mkdtempSync(join(tmpdir(), "arbor-durable-"));
const countFile = join(dir, "runs.txt");
// Both servers open the same database: a copy of the created template (created once per suite).
const dataDir = seededDataDir("arbor-durable-data-");
const children: ChildProcess[] = [];
let provider: WireServer | undefined;

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await provider?.close();
  removeDataDir(dataDir);
});

/** Starts `arbor serve` on the shared data dir; resolves with its URL once it listens. */
const serve = async (config: string) => {
  const child = spawn(process.execPath, [main, "serve", "--port", "0", "--json", "--config", config], {
    env: {
      ...process.env,
      ARBOR_DATA_DIR: dataDir,
      ARBOR_TOKEN: "",
      OPENAI_API_KEY: "sk-durable-test-0000KEY1",
      OPENAI_BASE_URL: `${provider!.url}/v1`,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return { child, url: (JSON.parse(line) as { url: string }).url, exited, stderr: () => stderr };
};

const toolCall = {
  id: "call_1",
  type: "function",
  function: { name: "mcp_counter_count_run", arguments: "{}" },
};

/** Messages the model was sent in request `index`, as role: content lines. */
const sent = (index: number) =>
  (provider!.requests[index]!.body as { messages: Array<{ role: string; content: unknown }> }).messages.map(
    (m) => `${m.role}: ${typeof m.content === "string" ? m.content : JSON.stringify(m.content)}`,
  );

describe("a durable tree on arbor serve", () => {
  it("survives SIGKILL mid-step: same id, the tool ran once, the task completes, the thread remembers, a pending approval can be decided", async () => {
    // Request 0: call the tool. 1: hang (the server is killed meanwhile). 2: the call made again
    // after the restart. 3: the follow-up on the thread.
    provider = await startWireServer((_req, index) =>
      index === 0
        ? { json: openaiCompletion(null, { toolCalls: [toolCall] }) }
        : index === 1
          ? { hang: true }
          : index === 2
            ? { json: openaiCompletion("the count is done") }
            : { json: openaiCompletion("yes, I counted before") },
    );
    const config = join(dir, "arbor.config.json");
    writeFileSync(
      config,
      JSON.stringify({
        server: { shutdownGraceMs: 200 },
        mcp: {
          servers: {
            counter: {
              command: process.execPath,
              args: [join(import.meta.dirname, "fixtures", "counter-mcp.mjs")],
              env: { COUNT_FILE: countFile },
            },
          },
        },
      }),
    );
    const spec = {
      name: "keeper",
      durable: true,
      root: {
        name: "worker",
        kind: "child",
        history: { maxMessages: 20 },
        tools: { allow: ["mcp.counter.count_run"] },
        model: { provider: "openai", model: "gpt-4o-mini" },
      },
    };

    // A second durable tree whose tool call waits for a person (scripted model, tools.approve).
    const gatedSpec = {
      name: "gated",
      durable: true,
      root: {
        name: "clerk",
        kind: "child",
        tools: { allow: ["mcp.counter.count_run"], approve: ["mcp.counter.count_run"] },
        model: {
          provider: "scripted",
          script: [{ toolCalls: [{ name: "mcp.counter.count_run" }] }, { text: "approved, {{tool}}" }],
        },
      },
    };

    const first = await serve(config);
    const client1 = await ArborClient.connect(first.url);
    let requested: (approvalId: string) => void = () => {};
    const approvalRequested = new Promise<string>((resolve) => {
      requested = resolve;
    });
    await client1.subscribe({ types: ["approval.requested"] }, (e) =>
      requested((e as { approvalId: string }).approvalId),
    );
    const gated = await client1.spawn(gatedSpec);
    const gatedAsk = client1
      .ask(gated.root, "count when allowed", { idempotencyKey: "gated-1" })
      .catch((e) => e);
    const approvalId = await approvalRequested;
    // Written before the next tree's first write (the store serves its writes in order).
    const { treeId, root } = await client1.spawn(spec);
    const asked = client1.ask(root, "count once", { thread: "t1", idempotencyKey: "job-1" }).catch((e) => e);
    // The second model call starts only after the step's journal (with the tool's result) is committed.
    await provider.whenReceived(1);
    expect(readFileSync(countFile, "utf8")).toBe("run\n");
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe(null);
    await asked;
    await gatedAsk;

    const second = await serve(config);
    expect(second.stderr()).toContain(`resumed durable tree ${treeId} (1 task(s) to finish)`);
    expect(second.stderr()).toContain("resumed durable tree gated (1 task(s) to finish)");
    const client2 = await ArborClient.connect(second.url);
    try {
      const { trees } = await client2.call("tree.list");
      expect(trees).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ treeId, root, durable: true, resumedAt: expect.any(Number) }),
          expect.objectContaining({ treeId: "gated", durable: true, resumedAt: expect.any(Number) }),
        ]),
      );
      // The same key from a new connection: the resumed task's answer, not a second run.
      const again = await client2.ask(root, "count once", { thread: "t1", idempotencyKey: "job-1" });
      expect(again.output).toBe("the count is done");
      expect(readFileSync(countFile, "utf8")).toBe("run\n");
      // The cut-off call was made again with the journaled tool result; the first was not repeated.
      expect(provider.requests).toHaveLength(3);
      expect(sent(2)).toEqual(expect.arrayContaining(["user: count once", expect.stringContaining("run 1")]));
      // A follow-up on the thread carries the exchange that straddled the crash.
      const followUp = await client2.ask(root, "did you count?", { thread: "t1" });
      expect(followUp.output).toBe("yes, I counted before");
      expect(sent(3)).toEqual(["user: count once", "assistant: the count is done", "user: did you count?"]);
      // The approval asked for before the crash is still pending, under the same id; approving it
      // lets the resumed step run its tool (once) and answer the same key.
      const { approvals } = await client2.call("approval.list");
      expect(approvals).toEqual([expect.objectContaining({ approvalId, tool: "mcp.counter.count_run" })]);
      expect(readFileSync(countFile, "utf8")).toBe("run\n");
      await client2.call("approval.decide", { approvalId, decision: "approve" });
      const allowed = await client2.ask(gated.root, "count when allowed", { idempotencyKey: "gated-1" });
      expect(allowed.output).toBe("approved, run 2");
      expect(readFileSync(countFile, "utf8")).toBe("run\nrun\n");
    } finally {
      await client2.close();
      client1.close().catch(() => undefined);
    }
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    expect(existsSync(countFile)).toBe(true);
  });
});
