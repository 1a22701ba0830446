/**
 * The spans the runtime makes, read from the OpenTelemetry SDK's in-memory exporter: a task that
 * trips a tripwire and crashes its agent shows the tripwire and each restart as span events; a
 * workflow run nests its steps and their agents' steps; memory search and ingest have spans; the
 * wait for an approval is a span inside its tool call; with
 * no SDK registered nothing is recorded and no trace id is handed out.
 */
import { trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { Effect, Fiber, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workflowsPlugin } from "../../agents/workflow/plugin.ts";
import { runWorkflow } from "../../agents/workflow/run.ts";
import { layerHashingEmbedder } from "../../knowledge/embedder.ts";
import { layerSqlGraphStore } from "../../knowledge/graph-store-sql.ts";
import { KnowledgeGraph, layerKnowledgeGraph } from "../../knowledge/knowledge-graph.ts";
import { layerSqlVectorStore } from "../../knowledge/vector-store.ts";
import { builtinHandlersPlugin } from "../../plugins/handlers/builtin.ts";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { tripwiresPlugin } from "../../plugins/tripwires/plugin.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import { approvalIdOf, makeApprovals } from "../../runtime/approvals.ts";
import { makeEventBus } from "../../runtime/events.ts";
import { tracingActive, withSpan } from "../../runtime/tracing.ts";
import { pgliteAdapter, runtimeOf } from "../knowledge/support.ts";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

const scripted = (...script: ReadonlyArray<Record<string, unknown>>) => ({ provider: "scripted", script });

const inSystem = <A, E>(
  body: (system: Effect.Effect.Success<ReturnType<typeof makeAgentSystem>>) => Effect.Effect<A, E>,
) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const system = yield* makeAgentSystem({
          plugins: [scriptedPlugin, builtinHandlersPlugin, tripwiresPlugin, workflowsPlugin],
        });
        return yield* body(system);
      }),
    ),
  );

describe("with no OpenTelemetry SDK registered", () => {
  it("records nothing and hands out no trace id", async () => {
    expect(tracingActive()).toBe(false);
    const reply = await inSystem((system) =>
      Effect.gen(function* () {
        const handle = yield* system.spawnTree({
          name: "plain",
          root: { name: "solo", kind: "child", model: scripted({ text: "hi" }) },
        });
        return yield* system.ask(handle.root, "hello").pipe(withSpan("outer", () => ({})));
      }),
    );
    expect(reply.output).toBe("hi");
    expect(reply.traceId).toBeUndefined();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});

describe("with the SDK registered", () => {
  beforeAll(() => {
    trace.setGlobalTracerProvider(provider);
  });
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
  });

  it("shows a tripwire and the restarts it caused as events on the task's step spans", async () => {
    exporter.reset();
    const failure = await inSystem((system) =>
      Effect.gen(function* () {
        const handle = yield* system.spawnTree({
          name: "tripped",
          root: {
            name: "lead",
            kind: "parent",
            supervision: {
              strategy: "one_for_one",
              maxRestarts: 5,
              periodMs: 60_000,
              backoff: { minMs: 1, maxMs: 2 },
            },
            model: scripted({ text: "lead" }),
            children: [
              {
                name: "greedy",
                kind: "child",
                tripwires: { maxTokens: 1, action: "halt" },
                model: scripted({ text: "a reply long enough to cost more than one token" }),
              },
            ],
          },
        });
        return yield* Effect.flip(system.ask(`${handle.root}/greedy`, "go"));
      }),
    );
    expect(failure._tag).toBe("AgentFailed");
    const steps = exporter
      .getFinishedSpans()
      .filter(
        (s) => s.name === "agent.step" && s.attributes["arbor.agent.address"] === "/tripped/lead/greedy",
      );
    expect(steps.length).toBe(3);
    for (const step of steps) {
      expect(step.events.map((e) => e.name)).toContain("tripwire.triggered");
      expect(step.status.code).toBe(2); // ERROR
      expect(step.attributes["error.type"]).toBe("tripwire");
    }
    expect(steps[0]!.events.find((e) => e.name === "tripwire.triggered")?.attributes).toMatchObject({
      "arbor.tripwire": "maxTokens",
      "arbor.tripwire.action": "halt",
    });
    // Each retry runs in a new incarnation, marked as a restart of the task.
    expect(steps.map((s) => s.attributes["arbor.agent.incarnation"])).toEqual([1, 2, 3]);
    expect(steps.slice(1).every((s) => s.events.some((e) => e.name === "agent.restarted"))).toBe(true);
    // All three attempts of the one ask are one trace.
    expect(new Set(steps.map((s) => s.spanContext().traceId)).size).toBe(1);
  });

  it("nests a workflow's steps and the agent steps they ask for under the workflow run", async () => {
    exporter.reset();
    const result = await inSystem((system) =>
      Effect.gen(function* () {
        const handle = yield* system.spawnTree({
          name: "flow",
          root: {
            name: "lead",
            kind: "parent",
            model: scripted({ text: "lead" }),
            children: [
              { name: "a", kind: "child", model: scripted({ text: "A" }) },
              { name: "b", kind: "child", model: scripted({ text: "B after {{input}}" }) },
            ],
          },
          workflow: {
            steps: [
              { id: "first", agent: "a" },
              { id: "second", agent: "b", dependsOn: ["first"] },
            ],
          },
        });
        return yield* runWorkflow(system, handle.treeId, "start");
      }),
    );
    expect(result.status).toBe("completed");
    const spans = exporter.getFinishedSpans();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const parentOf = (s: (typeof spans)[number]) => byId.get(s.parentSpanContext?.spanId ?? "");
    const run = spans.find((s) => s.name === "workflow.run")!;
    const stepSpans = spans.filter((s) => s.name === "workflow.step");
    expect(stepSpans.map((s) => s.attributes["arbor.workflow.step"]).sort()).toEqual(["first", "second"]);
    for (const step of stepSpans) expect(parentOf(step)).toBe(run);
    const agentSteps = spans.filter((s) => s.name === "agent.step");
    expect(agentSteps.map((s) => parentOf(s)?.name)).toEqual(["workflow.step", "workflow.step"]);
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
  });

  it("gives memory ingest and search their own spans, inside the span that called them", async () => {
    exporter.reset();
    const adapter = await pgliteAdapter();
    const stores = Layer.mergeAll(
      layerSqlGraphStore,
      layerSqlVectorStore({ dimension: 64 }),
      layerHashingEmbedder({ dimension: 64 }),
    );
    const rt = runtimeOf(layerKnowledgeGraph().pipe(Layer.provide(stores), Layer.provide(adapter.layer)));
    try {
      const found = await rt.run(
        Effect.flatMap(KnowledgeGraph, (kg) =>
          Effect.gen(function* () {
            yield* kg.ingest({ documentId: "doc:roses", text: "Prune roses in late winter." });
            return yield* kg.search({ query: "when to prune roses", k: 3 });
          }).pipe(withSpan("tool memory", () => ({}))),
        ),
      );
      expect(JSON.stringify(found)).toContain("Prune roses");
    } finally {
      await rt.dispose();
      await adapter.close();
    }
    const spans = exporter.getFinishedSpans();
    const outer = spans.find((s) => s.name === "tool memory")!;
    const ingest = spans.find((s) => s.name === "memory.ingest")!;
    const search = spans.find((s) => s.name === "memory.search")!;
    expect(ingest.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(search.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(search.attributes["arbor.memory.k"]).toBe(3);
  });

  it("shows the wait for a person's approval as a span inside the tool call, with the decision", async () => {
    exporter.reset();
    await Effect.runPromise(
      Effect.gen(function* () {
        const approvals = makeApprovals({ events: yield* makeEventBus(() => 0), now: () => 0 });
        const request = {
          tree: "t",
          address: "/t/writer",
          agentId: "ag_1",
          tool: "write_file",
          args: { path: "a.txt" },
          displayArgs: { path: "a.txt" },
          requestId: "rq_1",
          callIndex: 0,
        };
        const waiting = yield* Effect.fork(
          approvals.await(request, Effect.succeed).pipe(withSpan("execute_tool write_file", () => ({}))),
        );
        yield* Effect.yieldNow();
        yield* approvals.decide(approvalIdOf("t", "/t/writer", "rq_1", 0), { decision: "deny" }, "operator");
        yield* Fiber.join(waiting);
      }),
    );
    const spans = exporter.getFinishedSpans();
    const tool = spans.find((s) => s.name === "execute_tool write_file")!;
    const wait = spans.find((s) => s.name === "approval.wait")!;
    expect(wait.parentSpanContext?.spanId).toBe(tool.spanContext().spanId);
    expect(wait.attributes).toMatchObject({
      "gen_ai.tool.name": "write_file",
      "arbor.approval.decision": "deny",
      "arbor.approval.by": "operator",
    });
  });
});
