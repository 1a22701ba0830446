/**
 * Memory in the real runtime: `memoryPlugin` gives a scripted agent the memory tools, and the
 * lineage writer turns the event stream into spawned_by / supervised_by / handed_off_to edges
 * (with the handoff's result) and episodes.
 */
import { Effect, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GraphStore } from "../../knowledge/graph-store.ts";
import { KnowledgeGraph, layerKnowledgeGraph } from "../../knowledge/knowledge-graph.ts";
import type { LineageWriter } from "../../knowledge/lineage.ts";
import { makeMemoryPlugin } from "../../knowledge/tools.ts";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { toolsPlugin } from "../../plugins/tools/plugin.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { runTree } from "../../runtime/run.ts";
import { offlineStores, pgliteAdapter, runtimeOf, type SqlAdapter } from "./support.ts";

const D = 128;
let adapter: SqlAdapter;
let rt: ReturnType<typeof runtimeOf<KnowledgeGraph | GraphStore, unknown>>;

beforeAll(async () => {
  adapter = await pgliteAdapter();
  const stores = offlineStores(D);
  rt = runtimeOf(layerKnowledgeGraph().pipe(Layer.provideMerge(stores), Layer.provide(adapter.layer)));
});
afterAll(async () => {
  await rt.dispose();
  await adapter.close();
});

const scripted = (script: ReadonlyArray<Record<string, unknown>>) => ({ provider: "scripted", script });

describe("memory in the runtime", () => {
  it("agents remember and recall through tools; lineage shows who spawned whom and who handed what to whom", async () => {
    const spec = {
      name: "crew",
      root: {
        name: "lead",
        kind: "parent",
        input: "start",
        model: scripted([
          {
            toolCalls: [
              {
                name: "memory.remember",
                args: { entity: "project:apollo", attribute: "status", value: "green" },
              },
            ],
          },
          { toolCalls: [{ name: "handoff", args: { to: "writer", task: "write the report", await: true } }] },
          { toolCalls: [{ name: "memory.recall", args: { entity: "project:apollo" } }] },
          { text: "recalled: {{tool}}" },
        ]),
        children: [{ name: "writer", kind: "child", model: scripted([{ text: "report on: {{input}}" }]) }],
      },
    };
    let writer: LineageWriter | undefined;
    const { summary, lineage, events } = await rt.run(
      Effect.scoped(
        Effect.gen(function* () {
          const memory = yield* makeMemoryPlugin({ onLineage: (w) => (writer = w) });
          const system = yield* makeAgentSystem({ plugins: [scriptedPlugin, toolsPlugin, memory] });
          const events: ArborEvent[] = [];
          system.events.listen((e) => events.push(e));
          const summary = yield* runTree(system, spec, { timeoutMs: 20_000 });
          yield* writer!.flush;
          const kg = yield* KnowledgeGraph;
          const lineage = yield* kg.lineage({ agent: "/crew/lead/writer" });
          return { summary, lineage, events };
        }),
      ),
    );
    const output = summary.output ?? "";
    expect(output.startsWith("recalled: ")).toBe(true);
    expect(JSON.parse(output.slice("recalled: ".length))).toMatchObject({
      facts: [{ attribute: "status", value: "green", validTo: null }],
    });
    expect(
      events.filter((e) => e.type === "tool.result").map((e) => e.type === "tool.result" && [e.tool, e.ok]),
    ).toEqual([
      ["memory.remember", true],
      ["handoff", true],
      ["memory.recall", true],
    ]);
    expect(lineage.edges.map((e) => [e.type, e.from, e.to])).toEqual([
      ["spawned_by", "/crew/lead/writer", "/crew/lead"],
      ["supervised_by", "/crew/lead/writer", "/crew/lead"],
      ["handed_off_to", "/crew/lead", "/crew/lead/writer"],
    ]);
    expect(lineage.edges[2]).toMatchObject({
      task: "write the report",
      result: "report on: write the report",
    });
    // the writer's reply is an episode linked to it
    const episodes = await rt.run(
      Effect.flatMap(GraphStore, (g) =>
        g.edgesOf({ ids: ["agent:/crew/lead/writer"], direction: "in", types: ["produced_by"] }),
      ),
    );
    expect(episodes.length).toBeGreaterThanOrEqual(1);
  });
});
