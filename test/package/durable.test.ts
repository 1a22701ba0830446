/**
 * Durable trees and memory through `createArbor`, as a package user gets them: a tree kept in the
 * embedded database comes back when the next `createArbor` on the same data dir starts, its task
 * in flight finishes without running its journaled tool again, the asker gets the answer by its
 * idempotency key, and the thread remembers the exchange.
 */
import { afterAll, describe, expect, it } from "vitest";
import { type ArborEvent, type ArborTreeSpec, createArbor, tool } from "../../index.ts";
import { keeperSpec } from "../kernel/durable-support.ts";
import { removeDataDir, seededDataDir } from "../support/seeded-data-dir.ts";

const dataDir = seededDataDir("arbor-embedded-durable-");
afterAll(() => removeDataDir(dataDir));

const runs: string[] = [];
const countRun = tool({
  name: "count_run",
  description: "Counts its own runs.",
  parameters: { type: "object", properties: { label: { type: "string" } }, required: ["label"] },
  execute: async (args) => {
    runs.push(String(args.label));
    return `run ${runs.length}`;
  },
});

const options = { durable: true, knowledge: { dataDir }, customTools: [countRun] } as const;

// The runtime is closed while the answer's model call sleeps; resumed, the call is made again (at least once).
const spec = keeperSpec("keeper", 3_000);

describe("createArbor with durable trees and memory", () => {
  it("keeps a tree across a close: it comes back, its task finishes, the tool ran once, the thread remembers", async () => {
    const first = await createArbor(options);
    expect(first.resumed).toEqual({ resumed: [], down: [] });
    const toolDone = new Promise<void>((resolve) =>
      first.onEvent((e: ArborEvent) => {
        if (e.type === "tool.result") resolve();
      }),
    );
    const { root } = await first.spawn(spec);
    const asked = first.ask(root, "count once", { thread: "t1", idempotencyKey: "job-1" });
    asked.catch(() => {}); // cut off by the close below
    await toolDone;
    await new Promise((resolve) => setImmediate(resolve)); // the step journals the result in this turn
    await first.close();
    expect(runs).toEqual(["keeper"]);

    const second = await createArbor(options);
    try {
      expect(second.resumed).toEqual({ resumed: [{ treeId: "keeper", tasks: 1 }], down: [] });
      const again = await second.ask("/keeper/worker", "count once", {
        thread: "t1",
        idempotencyKey: "job-1",
      });
      expect(again.output).toBe("finished after run 1");
      expect(runs).toEqual(["keeper"]);
      expect(await second.history("/keeper/worker", "t1")).toEqual([
        { role: "user", content: "count once" },
        { role: "assistant", content: "finished after run 1" },
      ]);
    } finally {
      await second.close();
    }
  });

  it("memory: true gives agents the memory tools, on the same database, kept across runtimes", async () => {
    const callOnce = (
      name: string,
      call: { name: string; args: Record<string, unknown> },
    ): ArborTreeSpec => ({
      name,
      root: {
        name: "a",
        kind: "child",
        tools: { allow: ["memory.*"] },
        model: { provider: "scripted", script: [{ toolCalls: [call] }, { text: "memory said {{tool}}" }] },
      },
    });
    const writer = await createArbor({ memory: true, knowledge: { dataDir } });
    expect(writer.resumed).toBeUndefined();
    await writer.run(
      callOnce("writer", {
        name: "memory.remember",
        args: { entity: "user:alice", attribute: "favourite_colour", value: "green" },
      }),
      { input: "remember" },
    );
    await writer.close();
    const reader = await createArbor({ memory: true, knowledge: { dataDir } });
    try {
      const summary = await reader.run(
        callOnce("reader", { name: "memory.recall", args: { entity: "user:alice" } }),
        { input: "recall" },
      );
      expect(summary.output).toMatch(/^memory said .*favourite_colour.*green/);
    } finally {
      await reader.close();
    }
  });

  it("refuses a bad knowledge section with a typed error that says what is wrong", async () => {
    await expect(createArbor({ durable: true, knowledge: { dataDir, dimensoins: 3 } })).rejects.toMatchObject(
      {
        reason: "invalid_config",
        detail: expect.stringMatching(/dimensoins/),
      },
    );
  });
});
