/**
 * Writes agent lineage and episodes into memory from the runtime's event stream:
 * - `agent.spawned` with a `parent` → the agent node, `spawned_by` and `supervised_by` edges;
 * - `handoff` → a `handed_off_to` edge (one per handoff) with the task and reason; the target's next
 *   `agent.replied` (or `agent.request_failed`) fills in its `result` (or `error`);
 * - `agent.replied`, `tool.result` and `handoff` → episodes linked to the agent and to the entities
 *   they mention (when `episodes` is on).
 *
 * Events are taken in order from a synchronous listener and written by one fiber, so the writer
 * never slows the publisher; `flush` waits until everything seen so far is written.
 */
import { Effect, Queue, type Scope } from "effect";
import type { ArborEvent, ArborEventType, EventBus } from "../runtime/events.ts";
import { GraphStore, type GraphStoreService } from "./graph-store.ts";
import {
  agentNodeId,
  KnowledgeGraph,
  type KnowledgeGraphService,
  type MemoryError,
} from "./knowledge-graph.ts";

/** A running lineage writer. */
export interface LineageWriter {
  /** Waits until every event received so far has been written. */
  readonly flush: Effect.Effect<void>;
  /** How many events failed to be written (the store said no); the writer goes on. */
  readonly failures: () => number;
}

const RELEVANT = new Set<ArborEventType>([
  "agent.spawned",
  "handoff",
  "agent.replied",
  "agent.request_failed",
  "tool.result",
]);

/**
 * Resolves a handoff target to an address the way the runtime does: an address as is; else an
 * agent id; else, relative to the handing agent, its own child first, then a sibling.
 */
const addressOf = (graph: GraphStoreService, from: string, target: string) =>
  Effect.gen(function* () {
    if (target.startsWith("/")) return target;
    const byId = yield* graph.findByProperty("agent", "agentId", target);
    if (byId[0]) return byId[0].name;
    const child = `${from}/${target}`;
    const sibling = `${from.slice(0, from.lastIndexOf("/"))}/${target}`;
    const known = new Set(
      (yield* graph.getNodes([agentNodeId(child), agentNodeId(sibling)])).map((n) => n.name),
    );
    return known.has(child) || !known.has(sibling) ? child : sibling;
  });

const write = (
  kg: KnowledgeGraphService,
  graph: GraphStoreService,
  pending: Map<string, string[]>,
  episodes: boolean,
  event: ArborEvent,
): Effect.Effect<void, MemoryError> =>
  Effect.gen(function* () {
    const self = agentNodeId(event.address);
    const agent = { tree: event.tree, address: event.address, id: event.id };
    switch (event.type) {
      case "agent.spawned": {
        yield* graph.upsertNodes(
          [
            {
              id: self,
              type: "agent",
              name: event.address,
              properties: {
                agentId: event.id,
                tree: event.tree,
                kind: event.kind,
                incarnation: event.incarnation,
                ...(event.role ? { role: event.role } : {}),
              },
            },
          ],
          event.time,
        );
        if (event.parent) {
          const parent = agentNodeId(event.parent);
          for (const type of ["spawned_by", "supervised_by"]) {
            yield* graph.relate({
              from: self,
              to: parent,
              type,
              properties: {},
              time: event.time,
              cardinality: "one",
            });
          }
        }
        return;
      }
      case "handoff": {
        const to = yield* addressOf(graph, event.address, event.to);
        const { edge } = yield* graph.relate({
          from: self,
          to: agentNodeId(to),
          type: "handed_off_to",
          properties: { task: event.task, ...(event.reason ? { reason: event.reason } : {}) },
          time: event.time,
          cardinality: "event",
        });
        pending.set(to, [...(pending.get(to) ?? []), edge.id]);
        if (episodes) {
          yield* kg.recordEpisode({
            id: `episode:handoff:${edge.id}`,
            kind: "handoff",
            agent,
            text: event.task,
            time: event.time,
          });
        }
        return;
      }
      case "agent.replied":
      case "agent.request_failed": {
        const waiting = pending.get(event.address);
        const edgeId = waiting?.shift();
        if (waiting && waiting.length === 0) pending.delete(event.address);
        if (edgeId) {
          yield* graph.updateEdge(
            edgeId,
            event.type === "agent.replied" ? { result: event.output } : { error: event.reason },
          );
        }
        if (episodes && event.type === "agent.replied") {
          yield* kg.recordEpisode({
            id: `episode:${event.tree}:${event.address}:${event.requestId}`,
            kind: "message",
            agent,
            text: event.output,
            time: event.time,
            properties: { requestId: event.requestId },
          });
        }
        return;
      }
      case "tool.result": {
        if (!episodes) return;
        const text = typeof event.result === "string" ? event.result : JSON.stringify(event.result ?? null);
        yield* kg.recordEpisode({
          id: `episode:${event.tree}:${event.address}:tool:${event.callId}`,
          kind: "tool_result",
          agent,
          text,
          time: event.time,
          properties: { tool: event.tool, ok: event.ok },
        });
        return;
      }
      default:
        return;
    }
  });

/**
 * Starts writing lineage (and, unless `episodes: false`, episodes) from `events` until the scope
 * closes. The lead starts it once per runtime with the runtime's EventBus.
 */
export const startLineage = (
  events: EventBus,
  options: { readonly episodes?: boolean } = {},
): Effect.Effect<LineageWriter, never, KnowledgeGraph | GraphStore | Scope.Scope> =>
  Effect.gen(function* () {
    const kg = yield* KnowledgeGraph;
    const graph = yield* GraphStore;
    const queue = yield* Queue.unbounded<ArborEvent>();
    const pending = new Map<string, string[]>();
    let outstanding = 0;
    let failures = 0;
    const waiters: Array<() => void> = [];
    const settle = () => {
      if (outstanding === 0) for (const wake of waiters.splice(0)) wake();
    };
    yield* Effect.acquireRelease(
      Effect.sync(() =>
        events.listen(
          (event) => {
            if (!RELEVANT.has(event.type)) return;
            outstanding++;
            Queue.unsafeOffer(queue, event);
          },
          { types: [...RELEVANT] },
        ),
      ),
      (stop) => Effect.sync(stop),
    );
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.take(queue), (event) =>
          write(kg, graph, pending, options.episodes ?? true, event).pipe(
            Effect.catchAllCause(() =>
              Effect.sync(() => {
                failures++;
              }),
            ),
            Effect.ensuring(
              Effect.sync(() => {
                outstanding--;
                settle();
              }),
            ),
          ),
        ),
      ),
    );
    return {
      flush: Effect.async<void>((resume) => {
        if (outstanding === 0) return resume(Effect.void);
        waiters.push(() => resume(Effect.void));
      }),
      failures: () => failures,
    };
  });
