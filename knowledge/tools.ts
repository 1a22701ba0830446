/**
 * Memory for agents: the `memory.search`, `memory.remember`, `memory.recall`, `memory.relate` and
 * `memory.similarEntities` tools, and `memoryPlugin`, which registers them, the agents' `memory` spec section and recall
 * (`memory: { recall: { k, mode } }`), and, optionally, starts the lineage writer on the runtime's
 * event stream, when the runtime loads it.
 */
import { Effect, JSONSchema } from "effect";
import { definePlugin, type Plugin } from "../runtime/plugin.ts";
import type { ToolDefinition } from "../runtime/tool.ts";
import { GraphStore, type GraphStoreService } from "./graph-store.ts";
import { KnowledgeGraph, type KnowledgeGraphService } from "./knowledge-graph.ts";
import { type LineageWriter, startLineage } from "./lineage.ts";
import { decodeMemoryParams, type MemoryMethod, type MemoryMethodName, memoryMethods } from "./methods.ts";
import { partitionFor } from "./partition.ts";
import { makeRecallRunner, memorySection } from "./recall.ts";

/** The memory operations offered to agents as tools. */
export const MEMORY_TOOL_NAMES = [
  "memory.search",
  "memory.remember",
  "memory.recall",
  "memory.relate",
  "memory.similarEntities",
] as const;

const jsonSchemaOf = (m: MemoryMethod<unknown, unknown>): Readonly<Record<string, unknown>> => {
  const { $schema: _drop, ...rest } = JSONSchema.make(m.params) as unknown as Record<string, unknown>;
  return rest;
};

/**
 * One memory method as a tool. Results are the wire shapes; errors are their messages. Each call
 * reads and writes the calling agent's tenant's partition, never another's.
 */
export const memoryTool = (kg: KnowledgeGraphService, name: MemoryMethodName): ToolDefinition => {
  const m = memoryMethods[name] as MemoryMethod<unknown, unknown>;
  const validate = (args: unknown) => Effect.mapError(decodeMemoryParams(m, args), (e) => e.detail);
  return {
    name,
    description: m.description,
    inputSchema: jsonSchemaOf(m),
    validate,
    run: (args, ctx) =>
      Effect.flatMap(validate(args), (decoded) =>
        Effect.mapError(m.run(kg.partition(partitionFor(ctx.agent.tenant)), decoded), (e) => e.message),
      ),
    timeoutMs: 30_000,
  };
};

/** The memory tools. */
export const memoryTools = (kg: KnowledgeGraphService): ReadonlyArray<ToolDefinition> =>
  MEMORY_TOOL_NAMES.map((name) => memoryTool(kg, name));

/** What `memoryPlugin` needs: the memory service, and the graph store for the lineage writer. */
export interface MemoryPluginOptions {
  readonly knowledge: KnowledgeGraphService;
  readonly graph: GraphStoreService;
  /** Write lineage (and episodes) from the runtime's events (default true). */
  readonly lineage?: boolean;
  /** With lineage: also record agent replies, tool results and handoffs as episodes (default true). */
  readonly episodes?: boolean;
  /** Called with the lineage writer once it runs (to `flush` it before reading lineage, say). */
  readonly onLineage?: (writer: LineageWriter) => void;
}

/**
 * The memory plugin value: registers the memory tools and, unless `lineage: false`, writes lineage
 * from the host's event bus until the plugin is unloaded.
 */
export const memoryPlugin = (options: MemoryPluginOptions): Plugin =>
  definePlugin({
    name: "memory",
    version: "0.1.0",
    setup: (host) =>
      Effect.gen(function* () {
        for (const tool of memoryTools(options.knowledge)) yield* host.registerTool(tool);
        yield* host.registerSpecSection(memorySection);
        yield* host.installRecall(() => makeRecallRunner(options.knowledge));
        if (options.lineage ?? true) {
          const writer = yield* startLineage(host.events, { episodes: options.episodes ?? true }).pipe(
            Effect.provideService(KnowledgeGraph, options.knowledge),
            Effect.provideService(GraphStore, options.graph),
          );
          options.onLineage?.(writer);
        }
      }),
  });

/** `memoryPlugin` with the services taken from the environment (e.g. from `layerKnowledge`). */
export const makeMemoryPlugin = (
  options: Omit<MemoryPluginOptions, "knowledge" | "graph"> = {},
): Effect.Effect<Plugin, never, KnowledgeGraph | GraphStore> =>
  Effect.map(Effect.all([KnowledgeGraph, GraphStore]), ([knowledge, graph]) =>
    memoryPlugin({ knowledge, graph, ...options }),
  );
