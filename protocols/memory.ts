/**
 * The memory the CLI opens: the knowledge graph from the config's `knowledge` section (embedded
 * PGlite in `./.arbor/data` by default), for the lifetime of the scope, with its memory plugin
 * (the `memory.*` tools and lineage) and the providers' SQL usage ledger and key state in the same
 * database — used by `arbor serve` and `arbor run --memory`.
 */
import { Context, Effect, Either, Layer, Stream } from "effect";
import { describeKnowledge, knowledgeConfig, layerKnowledge } from "../knowledge/config.ts";
import { makeSqlDurableStore } from "../knowledge/durable-store-sql.ts";
import { GraphStore } from "../knowledge/graph-store.ts";
import { makeSqlKeyStateStore } from "../knowledge/key-state-sql.ts";
import { KnowledgeGraph } from "../knowledge/knowledge-graph.ts";
import { SqlClient } from "../knowledge/sql-client.ts";
import { memoryPlugin } from "../knowledge/tools.ts";
import { makeSqlUsageLedger } from "../knowledge/usage-ledger-sql.ts";
import type { ModelRouter } from "../runtime/model.ts";

/**
 * A model router for memory that is opened before the runtime it will use: calls go to `target()`
 * once it is set (the runtime's router, with key pools and fallbacks), and fail clearly before.
 */
export const lateModelRouter = (target: () => ModelRouter | undefined): ModelRouter => {
  const get = () => {
    const router = target();
    if (!router) throw new Error("the model router is used before the runtime started");
    return router;
  };
  return {
    generate: (choice, request) => Effect.suspend(() => get().generate(choice, request)),
    stream: (choice, request) => Stream.suspend(() => get().stream(choice, request)),
    embed: (choice, request) => Effect.suspend(() => get().embed(choice, request)),
  };
};

/**
 * Opens the knowledge graph from the config's `knowledge` section (embedded PGlite in
 * `./.arbor/data` by default) for the lifetime of the scope: its memory plugin (tools and lineage)
 * and its `memory.*` methods.
 */
export const openMemory = (section: unknown, router: ModelRouter) =>
  Effect.gen(function* () {
    const resolved = knowledgeConfig(section, process.env);
    if (Either.isLeft(resolved)) return yield* Effect.fail(resolved.left);
    const services = yield* Layer.build(layerKnowledge(resolved.right, { router }));
    const knowledge = Context.get(services, KnowledgeGraph);
    const graph = Context.get(services, GraphStore);
    const sql = Context.get(services, SqlClient);
    // The providers' usage ledger and key state live in the same database as memory.
    const ledger = yield* Effect.provideService(makeSqlUsageLedger, SqlClient, sql);
    const keyStore = yield* Effect.provideService(makeSqlKeyStateStore, SqlClient, sql);
    // Durable trees are kept there too.
    const durableStore = yield* Effect.provideService(makeSqlDurableStore, SqlClient, sql);
    return {
      knowledge,
      /** The store's SQL database (the arena keeps its results there). */
      sql: Context.get(services, SqlClient),
      plugin: memoryPlugin({ knowledge, graph }),
      description: describeKnowledge(resolved.right),
      /** The model `memory.answer` uses when a call names none (the config's `knowledge.answer`). */
      answerModel: resolved.right.section.answer,
      ledger,
      keyStore,
      durableStore,
    };
  });
