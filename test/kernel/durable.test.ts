/**
 * Durable trees on the real embedded store (PGlite with the SQL durable store): a tree comes back in
 * a new runtime under the same id and addresses, its task in flight resumes without running a
 * journaled tool again, an ask repeated with its idempotency key gets the resumed task's reply, its
 * thread history is kept; bad stored state keeps only its own tree down; a non-durable tree writes
 * nothing.
 */
import { Effect, Fiber, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { workflowsPlugin } from "../../agents/workflow/plugin.ts";
import { runWorkflow } from "../../agents/workflow/run.ts";
import { defineTool } from "../../plugins/tools/define.ts";
import { toolsPlugin } from "../../plugins/tools/plugin.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import { definePlugin } from "../../runtime/plugin.ts";
import { keeperSpec, startRuntime, stored, until, useDurableStore } from "./durable-support.ts";
import { basePlugins } from "./support.ts";

const kept = useDurableStore();
const runs: string[] = [];

/** A tool that counts its own runs (so a test can tell a replayed call from a repeated one). */
const counterPlugin = definePlugin({
  name: "counter",
  version: "0.0.0",
  setup: (host) =>
    host.registerTool(
      defineTool({
        name: "count_run",
        description: "Counts its own runs.",
        input: Schema.Struct({ label: Schema.String }),
        run: ({ label }) =>
          Effect.sync(() => {
            runs.push(label);
            return `run ${runs.length}`;
          }),
      }),
    ),
});

/** A runtime on the file's store, with the counting tool and workflows. */
const startDurable = () => startRuntime(kept.store, [toolsPlugin, counterPlugin, workflowsPlugin]);

/** The journal kept with an agent's task in flight (one row per journaled call). */
const journalRows = (treeId: string) =>
  Effect.runPromise(
    kept.sql.query<{ kind: string }>(
      "SELECT e->>'kind' AS kind FROM arbor_durable_agents, jsonb_array_elements(state->'inFlight'->'journal') e WHERE tree_id = $1",
      [treeId],
    ),
  );

describe("a durable tree", () => {
  it("comes back under its id; the task in flight resumes without running its journaled tool again; the key joins it", async () => {
    runs.length = 0;
    const first = await startDurable();
    const tree = await first.run(first.system.spawnTree(keeperSpec("keeper", 1_500)));
    expect(tree.treeId).toBe("keeper");
    // The ask is cut off while the model's second call sleeps: the tool call is journaled by then.
    const asked = Effect.runFork(
      first.system.ask(tree.root, "count once", { thread: "t1", idempotencyKey: "job-1" }),
    );
    await until(async () => (await journalRows("keeper")).some((r) => r.kind === "tool"));
    expect(runs).toEqual(["keeper"]);
    expect((await first.run(first.system.listTrees()))[0]).toMatchObject({ treeId: "keeper", durable: true });
    await first.close();
    await Effect.runPromise(Fiber.await(asked));

    const second = await startDurable();
    const report = await second.run(second.system.resumeDurable());
    expect(report).toEqual({ resumed: [{ treeId: "keeper", tasks: 1 }], down: [] });
    const listed = (await second.run(second.system.listTrees()))[0]!;
    expect(listed).toMatchObject({ treeId: "keeper", root: "/keeper/worker", durable: true });
    expect(typeof listed.resumedAt).toBe("number");
    // Asking again with the key waits for the resumed task instead of running it twice.
    const again = await second.run(
      second.system.ask("/keeper/worker", "count once", { thread: "t1", idempotencyKey: "job-1" }),
    );
    expect(again.output).toBe("finished after run 1");
    expect(runs).toEqual(["keeper"]);
    // Once more: the kept reply, with no new step.
    const tasksBefore = second.events.filter((e) => e.type === "agent.task").length;
    const kept = await second.run(
      second.system.ask("/keeper/worker", "count once", { idempotencyKey: "job-1" }),
    );
    expect(kept.output).toBe("finished after run 1");
    expect(second.events.filter((e) => e.type === "agent.task").length).toBe(tasksBefore);
    // The thread remembers the exchange that straddled the restart.
    expect(await second.run(second.system.history("/keeper/worker", "t1"))).toEqual([
      { role: "user", content: "count once" },
      { role: "assistant", content: "finished after run 1" },
    ]);
    await until(async () => (await journalRows("keeper")).length === 0); // a finished task's journal goes with it
    await second.run(second.system.stopTree("keeper"));
    await second.close();

    // A tree stopped by request is forgotten: the next runtime brings nothing back.
    const third = await startDurable();
    expect(await third.run(third.system.resumeDurable())).toEqual({ resumed: [], down: [] });
    await third.close();
  });

  it("whose stored state does not decode stays down with a reason; the other trees come back", async () => {
    const first = await startDurable();
    await first.run(first.system.spawnTree(keeperSpec("good", 0)));
    await first.run(first.system.spawnTree(keeperSpec("broken", 0)));
    await until(() => stored(kept.sql, "SELECT 1 FROM arbor_durable_agents WHERE tree_id = 'broken'"));
    await first.close();
    await Effect.runPromise(
      kept.sql.query(
        `UPDATE arbor_durable_agents SET state = '{"format": 99}'::jsonb WHERE tree_id = 'broken'`,
      ),
    );
    const second = await startDurable();
    const report = await second.run(second.system.resumeDurable());
    expect(report.resumed.map((t) => t.treeId)).toEqual(["good"]);
    expect(report.down).toEqual([
      { treeId: "broken", reason: expect.stringContaining("format 99, this release reads format 1") },
    ]);
    expect(second.events.find((e) => e.type === "tree.resume_failed")).toMatchObject({ tree: "broken" });
    // Its id stays reserved: a new tree of that name gets another id.
    const fresh = await second.run(second.system.spawnTree({ ...keeperSpec("broken", 0), durable: false }));
    expect(fresh.treeId).toBe("broken-2");
    expect((await second.run(second.system.ask("/good/worker", "hi"))).output).toMatch(/^finished after run/);
    await second.run(second.system.stopTree("good"));
    await second.close();
  });

  it("a pending approval outlives the restart and can be decided after it; the tool then runs once", async () => {
    runs.length = 0;
    const gated = keeperSpec("gated", 0);
    const approvalSpec = {
      ...gated,
      root: { ...gated.root, tools: { allow: ["count_run"], approve: ["count_run"] } },
    };
    const first = await startDurable();
    const tree = await first.run(first.system.spawnTree(approvalSpec));
    const asked = Effect.runFork(
      first.system.ask(tree.root, "count, with permission", { idempotencyKey: "gated-1" }),
    );
    await until(() => first.system.approvals.list().length === 1);
    const { approvalId } = first.system.approvals.list()[0]!;
    await until(() =>
      stored(kept.sql, "SELECT 1 FROM arbor_durable_agents WHERE tree_id = 'gated' AND state ? 'approvals'"),
    );
    await first.close();
    await Effect.runPromise(Fiber.await(asked));
    expect(runs).toEqual([]);

    const second = await startDurable();
    await second.run(second.system.resumeDurable());
    await until(() => second.system.approvals.list().length === 1);
    expect(second.system.approvals.list()[0]).toMatchObject({ approvalId, tool: "count_run", tree: "gated" });
    await second.run(second.system.approvals.decide(approvalId, { decision: "approve" }, "operator"));
    const reply = await second.run(
      second.system.ask(tree.root, "count, with permission", { idempotencyKey: "gated-1" }),
    );
    expect(reply.output).toBe("finished after run 1");
    expect(runs).toEqual(["gated"]);
    await second.run(second.system.stopTree("gated"));
    await second.close();
  });

  it("a workflow run again with its runId after a restart takes the finished steps as they were", async () => {
    const pipeline = {
      name: "pipeline",
      durable: true,
      root: {
        name: "lead",
        kind: "parent",
        model: { provider: "scripted", script: [{ text: "lead" }] },
        children: [
          {
            name: "drafter",
            kind: "child",
            model: { provider: "scripted", script: [{ text: "DRAFT({{input}})" }] },
          },
          {
            name: "editor",
            kind: "child",
            model: { provider: "scripted", script: [{ text: "EDITED({{input}})", delayMs: 1_500 }] },
          },
        ],
      },
      workflow: {
        steps: [
          { id: "draft", agent: "drafter", input: "{{input}}" },
          { id: "edit", agent: "editor", input: "{{steps.draft.output}}", dependsOn: ["draft"] },
        ],
        output: "{{steps.edit.output}}",
      },
    };
    const first = await startDurable();
    await first.run(first.system.spawnTree(pipeline));
    const running = Effect.runFork(runWorkflow(first.system, "pipeline", "the memo", { runId: "run-7" }));
    // Cut off while the editor works: the drafter's step has finished by then.
    await until(() =>
      stored(
        kept.sql,
        "SELECT 1 FROM arbor_durable_agents WHERE tree_id = 'pipeline' AND state ? 'inFlight' AND address = '/pipeline/lead/editor'",
      ),
    );
    await first.close();
    await Effect.runPromise(Fiber.await(running));

    const second = await startDurable();
    await second.run(second.system.resumeDurable());
    const result = await second.run(runWorkflow(second.system, "pipeline", "the memo", { runId: "run-7" }));
    expect(result).toMatchObject({ status: "completed", output: "EDITED(DRAFT(the memo))" });
    // The drafter did not work again in the new runtime; the editor finished its resumed task once.
    const tasks = (address: string) =>
      second.events.filter((e) => e.type === "agent.task" && e.address === address).length;
    expect(tasks("/pipeline/lead/drafter")).toBe(0);
    expect(tasks("/pipeline/lead/editor")).toBe(1);
    await second.run(second.system.stopTree("pipeline"));
    await second.close();
  });

  it("a non-durable tree writes nothing, and durable without a store is refused with a clear error", async () => {
    const first = await startDurable();
    await first.run(first.system.spawnTree({ ...keeperSpec("plain", 0), durable: false }));
    await first.run(first.system.ask("/plain/worker", "hi"));
    expect(await stored(kept.sql, "SELECT 1 FROM arbor_durable_trees WHERE tree_id = 'plain'")).toBe(false);
    await first.close();
    const refused = await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(makeAgentSystem({ plugins: [...basePlugins] }), (system) =>
          Effect.flip(system.spawnTree(keeperSpec("nostore", 0))),
        ),
      ),
    );
    expect(refused.message).toContain("$.durable: durable trees need a durable store");
  });
});

describe("a handler micro agent in a durable tree", () => {
  /** Handlers whose state is a number (JSON data), a Map (kept by `save`/`load`), or cannot be kept. */
  const handlers = (loadFails: boolean) =>
    definePlugin({
      name: "keeping-handlers",
      version: "0.0.0",
      setup: (host) =>
        Effect.all([
          host.registerHandler("tally", {
            initial: () => 0,
            handle: (n: number, m: string) => [n + 1, `${m} #${n + 1}`],
          }),
          host.registerHandler("words", {
            initial: () => new Map<string, number>(),
            handle: (seen: Map<string, number>, m: string) => {
              const next = new Map(seen).set(m, (seen.get(m) ?? 0) + 1);
              return [next, `${m} x${next.get(m)}, ${next.size} words`];
            },
            save: (seen) => [...seen],
            load: (saved) => {
              if (loadFails) throw new Error("the saved words are from another version");
              return new Map(saved as Array<[string, number]>);
            },
          }),
          host.registerHandler("fragile", {
            initial: () => 0,
            handle: (n: number, m: string) => [n + 1, m],
            save: (n) => {
              if (n > 1) throw new Error("cannot save past one");
              return n;
            },
          }),
        ]),
    });
  const treeSpec = {
    name: "micros",
    durable: true,
    root: {
      name: "lead",
      kind: "parent",
      model: { provider: "scripted", script: [{ text: "lead" }] },
      children: [
        { name: "tally", kind: "micro", handler: "tally" },
        { name: "words", kind: "micro", handler: "words" },
        { name: "fragile", kind: "micro", handler: "fragile" },
      ],
    },
  };

  it("keeps its handler's state across a restart of the runtime (save/load for a state that is not JSON)", async () => {
    const first = await startRuntime(kept.store, [handlers(false)]);
    await first.run(first.system.spawnTree(treeSpec));
    for (const m of ["a", "b", "c"]) await first.run(first.system.send("/micros/lead/tally", m));
    for (const m of ["oak", "elm", "oak"]) await first.run(first.system.ask("/micros/lead/words", m));
    // A state its `save` refuses is reported; the tree's other agents are still written.
    for (const m of ["x", "y"]) await first.run(first.system.ask("/micros/lead/fragile", m));
    await until(() => first.events.some((e) => e.type === "tree.durable_failed"));
    expect(first.events).toContainEqual(
      expect.objectContaining({
        type: "tree.durable_failed",
        reason: "/micros/lead/fragile: state not written: cannot save past one",
      }),
    );
    await first.close();

    const second = await startRuntime(kept.store, [handlers(false)]);
    expect(await second.run(second.system.resumeDurable())).toMatchObject({
      resumed: [{ treeId: "micros" }],
    });
    expect((await second.run(second.system.ask("/micros/lead/tally", "d"))).output).toBe("d #4");
    expect((await second.run(second.system.ask("/micros/lead/words", "oak"))).output).toBe("oak x3, 2 words");
    await second.close();

    // State that does not load: said so in an event; the handler starts afresh, the tree runs on.
    const third = await startRuntime(kept.store, [handlers(true)]);
    await third.run(third.system.resumeDurable());
    expect((await third.run(third.system.ask("/micros/lead/words", "oak"))).output).toBe("oak x1, 1 words");
    expect((await third.run(third.system.ask("/micros/lead/tally", "e"))).output).toBe("e #5");
    expect(third.events).toContainEqual(
      expect.objectContaining({
        type: "tree.durable_failed",
        reason: expect.stringMatching(
          /^\/micros\/lead\/words: its kept handler state does not load \(the saved words are from another version\)/,
        ),
      }),
    );
    await third.run(third.system.stopTree("micros"));
    await third.close();
  });
});

describe("an ask with an idempotency key", () => {
  it("is not withdrawn when its asker leaves: asking again with the key joins it, and then gets its kept reply", async () => {
    const { system, events, close } = await startDurable();
    await Effect.runPromise(
      system.spawnTree({
        name: "slowpoke",
        root: {
          name: "w",
          kind: "child",
          model: { provider: "scripted", script: [{ text: "done: {{input}}", delayMs: 400 }] },
        },
      }),
    );
    const gaveUp = await Effect.runPromise(
      Effect.flip(system.ask("/slowpoke/w", "job", { idempotencyKey: "k", timeoutMs: 20 })),
    );
    expect(gaveUp._tag).toBe("Timeout");
    const joined = await Effect.runPromise(system.ask("/slowpoke/w", "job", { idempotencyKey: "k" }));
    expect(joined.output).toBe("done: job");
    const again = await Effect.runPromise(system.ask("/slowpoke/w", "job", { idempotencyKey: "k" }));
    expect(again.output).toBe("done: job");
    expect(events.filter((e) => e.type === "agent.task").length).toBe(1);
    expect(events.some((e) => e.type === "agent.cancelled")).toBe(false);
    await close();
  });
});
