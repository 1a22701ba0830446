/**
 * Graceful shutdown in process: requests in flight get their answers within the grace period,
 * new requests and connections are refused with a clear error, trees stop (and subscribers see it)
 * before connections close with 1001.
 */
import { expect, it } from "vitest";
import { ArborClient, RpcError } from "../../protocols/client/index.ts";
import { openRaw } from "./harness.ts";
import { startRuntimeServer } from "./runtime.ts";

it("lets in-flight requests finish within the grace period, refuses new work, then closes with 1001", async () => {
  const running = await startRuntimeServer({ shutdownGraceMs: 30_000 });
  const client = await ArborClient.connect(running.url);
  const { treeId, root } = await client.spawn({
    name: "finishing",
    root: {
      name: "lead",
      kind: "child",
      model: { provider: "scripted", script: [{ text: "finished late", delayMs: 300 }] },
    },
  });
  const stopped: Array<string> = [];
  await client.subscribe({ types: ["tree.stopped"] }, (e) =>
    stopped.push(`${e.tree}: ${"reason" in e ? e.reason : ""}`),
  );
  const shutdownSeen = new Promise<string>((resolve) => client.onShutdown(resolve));
  const closed = new Promise<number>((resolve) => client.onClose((e) => resolve(e.code)));
  const answer = client.ask(root, "work");
  await client.trees(); // the ask is admitted before this answers

  const closing = running.close();
  expect(await shutdownSeen).toBe("server shutting down");
  const refused = await client.trees().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(refused).toBeInstanceOf(RpcError);
  expect(refused).toMatchObject({ code: -32013, reason: "shutting_down" });
  await expect(openRaw(running.url)).rejects.toThrow();

  expect(await answer).toMatchObject({ output: "finished late" });
  await closing;
  expect(await closed).toBe(1001);
  expect(stopped).toEqual([`${treeId}: server shutting down`]);
});
