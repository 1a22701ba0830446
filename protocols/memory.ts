/**
 * The memory the CLI opens: the knowledge graph from the config's `knowledge` section (embedded
 * PGlite in `./.arbor/data` by default), for the lifetime of the scope, with its memory plugin
 * (the `memory.*` tools and lineage) — used by `arbor serve` and `arbor run --memory`.
 */
import { Context, Effect, Either, Layer } from "effect";
import { describeKnowledge, knowledgeConfig, layerKnowledge } from "../knowledge/config.ts";
import { GraphStore } from "../knowledge/graph-store.ts";
import { KnowledgeGraph } from "../knowledge/knowledge-graph.ts";
import { memoryPlugin } from "../knowledge/tools.ts";

/**
 * Opens the knowledge graph from the config's `knowledge` section (embedded PGlite in
 * `./.arbor/data` by default) for the lifetime of the scope: its memory plugin (tools and lineage)
 * and its `memory.*` methods.
 */
export const openMemory = (section: unknown) =>
  Effect.gen(function* () {
    const resolved = knowledgeConfig(section, process.env);
    if (Either.isLeft(resolved)) return yield* Effect.fail(resolved.left);
    if (resolved.right.section.embedder) {
      return yield* Effect.fail(
        new Error(
          "knowledge.embedder (provider embeddings) is not available from the CLI yet: remove it to use the offline hashing embedder",
        ),
      );
    }
    const services = yield* Layer.build(layerKnowledge(resolved.right));
    const knowledge = Context.get(services, KnowledgeGraph);
    const graph = Context.get(services, GraphStore);
    return {
      knowledge,
      plugin: memoryPlugin({ knowledge, graph }),
      description: describeKnowledge(resolved.right),
    };
  });
