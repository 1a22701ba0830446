/**
 * Agents that recall: an agent whose spec sets `memory.recall` sees, before its model call, the
 * facts and passages of its own tenant's memory that bear on the task, labelled for citation, with
 * PII redacted by the input guardrails; `memory.similarEntities` finds entities by meaning and type.
 */
import { Effect, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerQuestion } from "../../knowledge/answer.ts";
import type { GraphStore } from "../../knowledge/graph-store.ts";
import { KnowledgeGraph, layerKnowledgeGraph } from "../../knowledge/knowledge-graph.ts";
import { callMemoryMethod } from "../../knowledge/methods.ts";
import { makeMemoryPlugin } from "../../knowledge/tools.ts";
import { guardrailsPlugin } from "../../plugins/guardrails/plugin.ts";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { offlineStores, pgliteAdapter, runtimeOf, type SqlAdapter } from "./support.ts";

const D = 256;
let adapter: SqlAdapter;
let rt: ReturnType<typeof runtimeOf<KnowledgeGraph | GraphStore, unknown>>;

beforeAll(async () => {
  adapter = await pgliteAdapter();
  const stores = offlineStores(D);
  rt = runtimeOf(layerKnowledgeGraph().pipe(Layer.provideMerge(stores), Layer.provide(adapter.layer)));
  await rt.run(
    Effect.gen(function* () {
      const kg = yield* KnowledgeGraph;
      const acme = kg.partition("acme");
      yield* acme.ingest({
        documentId: "runbooks/backup.md",
        text: "# Backups\n\nThe nightly backup of the orders database runs at 02:00 UTC and is kept for 30 days. Questions go to ops-lead@acme.example.",
      });
      yield* acme.remember({ entity: "orders database", attribute: "engine", value: "Postgres 16" });
      yield* kg.partition("globex").ingest({
        documentId: "globex/secret.md",
        text: "The nightly backup of the orders database is at 04:00.",
      });
    }),
  );
});
afterAll(async () => {
  await rt.dispose();
  await adapter.close();
});

const recallingSpec = (extra: Record<string, unknown> = {}) => ({
  name: "desk",
  root: {
    name: "helper",
    kind: "child",
    model: { provider: "scripted", script: [{ text: "SAW:\n{{system}}" }] },
    memory: { recall: { k: 2 } },
    ...extra,
  },
});

const ask = (spec: unknown, tenant: string, question: string) =>
  rt.run(
    Effect.scoped(
      Effect.gen(function* () {
        const memory = yield* makeMemoryPlugin({ lineage: false });
        const system = yield* makeAgentSystem({ plugins: [scriptedPlugin, guardrailsPlugin, memory] });
        const events: ArborEvent[] = [];
        system.events.listen((e) => events.push(e));
        const tree = yield* system.spawnTree(spec, { tenant });
        const reply = yield* system.ask(tree.root, question);
        return { output: reply.output, events };
      }),
    ),
  );

describe("agents that recall", () => {
  it("an agent sees its tenant's facts and passages about the task, labelled for citation, PII redacted", async () => {
    const { output, events } = await ask(
      recallingSpec({ guardrails: { pii: "always" } }),
      "acme",
      "When does the nightly backup of the orders database run?",
    );
    expect(output).toContain('[F1] orders database · engine = "Postgres 16"');
    expect(output).toContain("[1] (runbooks/backup.md)");
    expect(output).toContain("02:00 UTC");
    expect(output).not.toContain("ops-lead@acme.example"); // the PII guardrail redacted it
    expect(output).not.toContain("04:00"); // another tenant's memory is invisible
    expect(events).toContainEqual(
      expect.objectContaining({ type: "memory.recalled", facts: 1, passages: expect.any(Number) }),
    );
  });

  it("another tenant's agent recalls only its own memory", async () => {
    const { output } = await ask(recallingSpec(), "globex", "When does the nightly backup run?");
    expect(output).toContain("(globex/secret.md)");
    expect(output).not.toContain("02:00 UTC");
    expect(output).not.toContain("Postgres 16");
  });

  it("without memory.recall nothing is recalled; a bad section is refused with its path", async () => {
    const plain = await ask(
      {
        name: "plain",
        root: {
          name: "a",
          kind: "child",
          model: { provider: "scripted", script: [{ text: "SAW:{{system}}" }] },
        },
      },
      "acme",
      "When does the nightly backup run?",
    );
    expect(plain.output).toBe("SAW:");
    const refused = await rt.run(
      Effect.scoped(
        Effect.gen(function* () {
          const memory = yield* makeMemoryPlugin({ lineage: false });
          const system = yield* makeAgentSystem({ plugins: [scriptedPlugin, memory] });
          return yield* Effect.flip(system.spawnTree(recallingSpec({ memory: { recall: { k: 0 } } })));
        }),
      ),
    );
    expect(JSON.stringify(refused)).toContain("root.memory.recall");
  });

  it("a spec asking for recall without the memory plugin says which plugin to load", async () => {
    const refused = await rt.run(
      Effect.scoped(
        Effect.gen(function* () {
          const system = yield* makeAgentSystem({ plugins: [scriptedPlugin] });
          return yield* Effect.flip(system.spawnTree(recallingSpec()));
        }),
      ),
    );
    expect(JSON.stringify(refused)).toContain("load memoryPlugin");
  });
});

describe("memory.answer", () => {
  it("the question and context pass the runtime's input guardrails before the model sees them", async () => {
    const result = await rt.run(
      Effect.scoped(
        Effect.gen(function* () {
          const system = yield* makeAgentSystem({
            plugins: [scriptedPlugin, guardrailsPlugin],
            config: { guardrails: { pii: "always" } },
          });
          const kg = (yield* KnowledgeGraph).partition("acme");
          return yield* answerQuestion(
            kg,
            { router: system.models(), guardrails: system.guardrails() },
            {
              question: "Who gets backup questions? Reply to me at jo@example.org",
              model: { provider: "scripted", script: [{ text: "{{system}} | {{input}}" }] },
            },
            "acme",
          );
        }),
      ),
    );
    expect(result.answer).toContain("runbooks/backup.md");
    expect(result.answer).not.toContain("ops-lead@acme.example");
    expect(result.answer).not.toContain("jo@example.org");
    expect(result.citations[0]).toMatchObject({ n: 1, documentId: "runbooks/backup.md" });
  });
});

describe("memory.similarEntities", () => {
  it("finds entities by meaning, by type, and like another entity, in the caller's partition only", async () => {
    const result = await rt.run(
      Effect.gen(function* () {
        const kg = (yield* KnowledgeGraph).partition("zoo");
        yield* kg.upsertEntity({ id: "p1", type: "person", name: "Grace Hopper" });
        yield* kg.upsertEntity({ id: "p2", type: "person", name: "Grace Kelly" });
        yield* kg.upsertEntity({ id: "c1", type: "company", name: "Hopper Logistics" });
        yield* kg.relate({ from: "p1", to: "navy", type: "served_in" });
        const byMeaning = yield* callMemoryMethod(kg, "memory.similarEntities", { query: "hopper", k: 2 });
        const byType = yield* callMemoryMethod(kg, "memory.similarEntities", {
          query: "hopper",
          types: ["company"],
        });
        const like = yield* callMemoryMethod(kg, "memory.similarEntities", {
          entity: "p1",
          types: ["person"],
        });
        const elsewhere = yield* callMemoryMethod(
          (yield* KnowledgeGraph).partition("other"),
          "memory.similarEntities",
          {
            query: "hopper",
          },
        );
        const bad = yield* Effect.flip(callMemoryMethod(kg, "memory.similarEntities", { k: 3 }));
        return { byMeaning, byType, like, elsewhere, bad };
      }),
    );
    const ids = (r: unknown) => (r as { entities: Array<{ id: string }> }).entities.map((e) => e.id);
    expect(ids(result.byMeaning).sort()).toEqual(["c1", "p1"]);
    expect(ids(result.byType)).toEqual(["c1"]);
    expect(ids(result.like)[0]).toBe("p2"); // the other Grace, not p1 itself
    expect(ids(result.elsewhere)).toEqual([]);
    expect(result.bad).toMatchObject({ reason: "invalid_params" });
    expect(result.bad.message).toContain("give either query or entity");
  });
});
