/**
 * The lineage query: every `spawned_by`, `supervised_by` and `handed_off_to` edge of an agent's
 * family, with agent addresses instead of node ids.
 */
import { Effect } from "effect";
import { KnowledgeInputError } from "../errors.ts";
import type { GraphNode, GraphStoreService } from "../graph-store.ts";
import type { MemoryError } from "../knowledge-graph.ts";
import type { LineageEdge, LineageResult } from "../wire.ts";

const LINEAGE = ["spawned_by", "supervised_by", "handed_off_to"];

const unknownEntity = (id: string) =>
  new KnowledgeInputError({
    reason: "unknown_entity",
    detail: `no agent with address or id ${JSON.stringify(id)}`,
  });

/** The lineage of `agent` (an address, an agent id, or an `agent:` node id). */
export const lineageOf = (
  graph: GraphStoreService,
  requireNode: (id: string) => Effect.Effect<GraphNode, MemoryError>,
  agent: string,
): Effect.Effect<LineageResult, MemoryError> =>
  Effect.gen(function* () {
    const node = agent.startsWith("agent:")
      ? yield* requireNode(agent)
      : agent.startsWith("/")
        ? yield* requireNode(`agent:${agent}`)
        : ((yield* graph.findByProperty("agent", "agentId", agent))[0] ??
          (yield* Effect.fail(unknownEntity(agent))));
    const edges = yield* graph.connected({ id: node.id, types: LINEAGE });
    const strip = (id: string) => (id.startsWith("agent:") ? id.slice("agent:".length) : id);
    return {
      edges: edges.map((e): LineageEdge => {
        const p = e.properties;
        return {
          type: e.type as LineageEdge["type"],
          from: strip(e.from),
          to: strip(e.to),
          time: e.validFrom,
          endedAt: e.validTo,
          ...(typeof p.task === "string" ? { task: p.task } : {}),
          ...(typeof p.reason === "string" ? { reason: p.reason } : {}),
          ...(typeof p.result === "string" ? { result: p.result } : {}),
          ...(typeof p.error === "string" ? { error: p.error } : {}),
        };
      }),
    };
  });
