/**
 * `tree.durable.step`: what keeping a tree durable adds to one agent step — a scripted model call,
 * a tool call, a second model call — on the embedded store (PGlite in a data dir on disk, the SQL
 * durable store), against the same step on the same runtime in a tree that is not durable. Asks
 * alternate between the two trees so both see the same machine; p50 and p95 of each.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { Effect, Exit, Schema, Scope } from "effect";
import { makeSqlDurableStore } from "../knowledge/durable-store-sql.ts";
import { makePgliteClient, SqlClient } from "../knowledge/sql-client.ts";
import { builtinHandlersPlugin } from "../plugins/handlers/builtin.ts";
import { scriptedPlugin } from "../plugins/providers/scripted.ts";
import { defineTool } from "../plugins/tools/define.ts";
import { toolsPlugin } from "../plugins/tools/plugin.ts";
import { makeAgentSystem } from "../runtime/agent-system.ts";
import type { DurableStore } from "../runtime/durable/store.ts";
import { definePlugin } from "../runtime/plugin.ts";
import { type Bench, percentile, round } from "./harness.ts";

const lookupPlugin = definePlugin({
  name: "bench-lookup",
  version: "0.0.0",
  setup: (host) =>
    host.registerTool(
      defineTool({
        name: "lookup",
        description: "Looks a word up.",
        input: Schema.Struct({ word: Schema.String }),
        run: ({ word }) => Effect.succeed(`${word}: found`),
      }),
    ),
});

const asks = 300;
const warmUp = 30;

const spec = (name: string, durable: boolean) => ({
  name,
  durable,
  root: {
    name: "worker",
    kind: "child",
    tools: { allow: ["lookup"] },
    model: {
      provider: "scripted",
      // One tool round per ask: the agent's script position moves on by two each ask.
      script: Array.from({ length: 2 * (warmUp + asks) }, (_, i) =>
        i % 2 === 0
          ? { toolCalls: [{ name: "lookup", args: { word: "arbor" } }] }
          : { text: "the tool said {{tool}}" },
      ),
    },
  },
});

const measure = async () => {
  const dir = mkdtempSync(join(tmpdir(), "arbor-bench-durable-"));
  const db = await PGlite.create(join(dir, "data"), { extensions: { vector } });
  await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
  const scope = Effect.runSync(Scope.make());
  try {
    const sql = await Effect.runPromise(makePgliteClient(db));
    const real = await Effect.runPromise(Effect.provideService(makeSqlDurableStore, SqlClient, sql));
    // Counts the store's writes and their time: how many a step costs, and what each costs.
    const writes = { count: 0, ms: 0 };
    const store: DurableStore = {
      ...real,
      write: (batch) =>
        Effect.suspend(() => {
          const start = performance.now();
          return Effect.tap(real.write(batch), () =>
            Effect.sync(() => {
              writes.count++;
              writes.ms += performance.now() - start;
            }),
          );
        }),
    };
    const system = await Effect.runPromise(
      makeAgentSystem({
        plugins: [scriptedPlugin, builtinHandlersPlugin, toolsPlugin, lookupPlugin],
        durable: { store },
      }).pipe(Scope.extend(scope)),
    );
    await Effect.runPromise(system.spawnTree(spec("plain", false)));
    await Effect.runPromise(system.spawnTree(spec("kept", true)));
    const sample = { plain: [] as number[], kept: [] as number[] };
    let toolCalls = 0;
    system.events.listen((e) => {
      if (e.type === "tool.called") toolCalls++;
    });
    const time = async (to: string) => {
      const start = performance.now();
      await Effect.runPromise(system.ask(to, "look it up"));
      return performance.now() - start;
    };
    for (let i = 0; i < warmUp / 2; i++) {
      await time("/plain/worker");
      await time("/kept/worker");
    } // warm-up: each tree's agent takes warmUp / 2 asks
    toolCalls = 0;
    writes.count = 0;
    writes.ms = 0;
    for (let i = 0; i < asks; i++) {
      sample.plain.push(await time("/plain/worker"));
      sample.kept.push(await time("/kept/worker"));
    }
    if (toolCalls !== 2 * asks)
      throw new Error(`expected a tool round in every step, saw ${toolCalls} tool calls`);
    return {
      ...sample,
      writesPerStep: writes.count / asks,
      msPerWrite: writes.ms / Math.max(1, writes.count),
    };
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void));
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

export const benches: ReadonlyArray<Bench> = [
  {
    name: "tree.durable.step",
    run: async () => {
      const { plain, kept, writesPerStep, msPerWrite } = await measure();
      const p50 = { plain: percentile(plain, 50), kept: percentile(kept, 50) };
      return [
        {
          bench: "tree.durable.step",
          unit: "ms p50 per step (model → tool → model), lower is better; ratio = durable ÷ plain",
          value: round(p50.kept),
          baseline: "the same step in a non-durable tree",
          baselineValue: round(p50.plain),
          ratio: round(p50.kept / p50.plain),
          addedMsP50: round(p50.kept - p50.plain),
          p95: round(percentile(kept, 95)),
          baselineP95: round(percentile(plain, 95)),
          writesPerStep: round(writesPerStep),
          msPerWrite: round(msPerWrite),
          target: "adds ≤ 2 ms p50",
        },
      ];
    },
  },
];
