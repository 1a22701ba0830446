/**
 * The `memory.*` methods (remember, recall, relate, neighbors, ingest, ingestMany, search,
 * lineage) over a knowledge graph, with the params schemas and handlers of the knowledge area's
 * own method table, so the wire and the agent tools always agree on shapes.
 *
 * Gotcha: the knowledge graph is runtime-wide, not per tenant. Until it is, only the operator
 * tenants (`local`: loopback without a token; `default`: the `ARBOR_TOKEN` holder) may use it;
 * other tenants get -32001, so one tenant can never read another's memories.
 */
import { Effect } from "effect";
import type { KnowledgeGraphService } from "../../../knowledge/knowledge-graph.ts";
import { type MemoryMethod, memoryMethods } from "../../../knowledge/methods.ts";
import { localTenant } from "../auth.ts";
import { RpcCode, rpcFailure, toRpcFailure } from "../codes.ts";
import type { ExtraMethods, MethodDef } from "../methods.ts";
import { defaultTenant } from "../options.ts";

const operatorTenants = new Set([localTenant, defaultTenant]);

/** The `memory.*` methods over one knowledge graph. */
export const memoryRpcMethods = (kg: KnowledgeGraphService): ExtraMethods => {
  const table: Record<string, MethodDef> = {};
  for (const [name, method] of Object.entries(memoryMethods)) {
    const m = method as MemoryMethod<unknown, unknown>;
    table[name] = {
      params: m.params as MethodDef["params"],
      run: (params, caller) =>
        operatorTenants.has(caller.tenant)
          ? Effect.mapError(m.run(kg, params), toRpcFailure)
          : Effect.fail(
              rpcFailure(
                RpcCode.unauthorized,
                "operator_only",
                "user",
                "memory is shared by the whole runtime; only the operator token (ARBOR_TOKEN) may use memory.*",
              ),
            ),
    };
  }
  return table;
};
