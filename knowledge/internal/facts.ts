/**
 * The fact operations of the memory service: `remember`, `recall` and `forget` across the two
 * tiers (working memory in process, long-term in the graph store).
 */
import { Clock, Effect } from "effect";
import type { GraphNode, GraphStoreService } from "../graph-store.ts";
import type { KnowledgeGraphService, MemoryError } from "../knowledge-graph.ts";
import type { WorkingMemory } from "../working-memory.ts";

/** What the fact operations need from the service around them. */
export interface FactDeps {
  readonly graph: GraphStoreService;
  readonly working: WorkingMemory;
  readonly multi: ReadonlySet<string>;
  readonly maxWorkingTtl: number;
  readonly written: (kind: "fact", key: string) => Effect.Effect<void>;
  readonly requireNode: (id: string) => Effect.Effect<GraphNode, MemoryError>;
  readonly ensureNodes: (ids: ReadonlyArray<string>, now: number) => Effect.Effect<void, MemoryError>;
}

/** Makes `remember`, `recall` and `forget`. */
export const makeFactOps = ({
  graph,
  working,
  multi,
  maxWorkingTtl,
  written,
  requireNode,
  ensureNodes,
}: FactDeps): Pick<KnowledgeGraphService, "remember" | "recall" | "forget"> => ({
  remember: ({ entity, attribute, value, ttlMs }) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis;
      yield* ensureNodes([entity], now);
      const isMulti = multi.has(attribute);
      if (ttlMs !== undefined && ttlMs <= maxWorkingTtl) {
        const set = yield* working.set({ entity, attribute, value, ttlMs, multi: isMulti });
        yield* written("fact", `${entity}.${attribute}`);
        return {
          entity,
          attribute,
          superseded: set.superseded,
          tier: "working" as const,
          expiresAt: set.expiresAt,
        };
      }
      const expiresAt = ttlMs === undefined ? null : now + ttlMs;
      if (!isMulti) yield* working.forget(entity, attribute); // the long-term value wins from now on
      const result = yield* graph.setFact({
        entity,
        attribute,
        value,
        time: now,
        multi: isMulti,
        expiresAt,
      });
      yield* written("fact", `${entity}.${attribute}`);
      return { entity, attribute, superseded: result.superseded, tier: "long_term" as const, expiresAt };
    }),
  recall: ({ entity, attribute, asOf, history }) =>
    Effect.gen(function* () {
      yield* requireNode(entity);
      const now = yield* Clock.currentTimeMillis;
      const at = asOf ?? now;
      const stored = yield* graph.facts({
        entity,
        ...(attribute === undefined ? {} : { attribute }),
        asOf: at,
        history: history === true,
      });
      const fresh = yield* working.get(entity, attribute, at);
      // A working-memory value of a single-valued attribute overrides the stored one.
      const shadowed = new Set(fresh.filter((f) => !multi.has(f.attribute)).map((f) => f.attribute));
      const facts = [...stored.filter((f) => history === true || !shadowed.has(f.attribute)), ...fresh].map(
        (f) => ({
          attribute: f.attribute,
          value: f.value,
          validFrom: f.validFrom,
          validTo: f.validTo,
        }),
      );
      return { facts };
    }),
  forget: ({ entity, attribute }) =>
    Effect.gen(function* () {
      yield* requireNode(entity);
      const now = yield* Clock.currentTimeMillis;
      const a = yield* working.forget(entity, attribute);
      const b = yield* graph.forget({
        entity,
        ...(attribute === undefined ? {} : { attribute }),
        time: now,
      });
      yield* written("fact", `${entity}.${attribute ?? "*"}`);
      return { forgotten: a + b };
    }),
});
