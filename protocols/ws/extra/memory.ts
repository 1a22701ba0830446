/**
 * The `memory.*` methods (remember, recall, relate, neighbors, ingest, ingestMany, search,
 * lineage) over a knowledge graph, with the params schemas and handlers of the knowledge area's
 * own method table, so the wire and the agent tools always agree on shapes.
 *
 * Memory is partitioned per tenant: a tenant reads and writes only its own partition (the same one
 * its agents' memory tools use). The operator tenants (`local`: loopback without a token;
 * `default`: the `ARBOR_TOKEN` holder) use the default partition, and may name any tenant's with
 * the optional `tenant` param. A tenant that names another tenant is refused with -32001.
 */
import { Effect, Schema } from "effect";
import type { KnowledgeGraphService } from "../../../knowledge/knowledge-graph.ts";
import { type MemoryMethod, memoryMethods } from "../../../knowledge/methods.ts";
import { partitionFor } from "../../../knowledge/partition.ts";
import { localTenant } from "../auth.ts";
import { RpcCode, rpcFailure, toRpcFailure } from "../codes.ts";
import type { CallerContext, ExtraMethods, MethodDef } from "../methods.ts";
import { defaultTenant } from "../options.ts";

const operatorTenants: ReadonlyArray<string> = [localTenant, defaultTenant];

/** The optional partition a call names (the operator's choice; a tenant may only name itself). */
const TenantParam = Schema.Struct({
  tenant: Schema.optional(Schema.NonEmptyString.pipe(Schema.maxLength(256))),
});

/** The partition a caller's request reads and writes, or the refusal. */
const partitionOfCall = (caller: CallerContext, named: string | undefined) => {
  if (operatorTenants.includes(caller.tenant)) return Effect.succeed(partitionFor(named, operatorTenants));
  if (named === undefined || named === caller.tenant) return Effect.succeed(caller.tenant);
  return Effect.fail(
    rpcFailure(
      RpcCode.unauthorized,
      "other_tenant",
      "user",
      "a tenant reads and writes only its own memory; only the operator token (ARBOR_TOKEN) may name another tenant",
    ),
  );
};

/** The `memory.*` methods over one knowledge graph, each on the caller's partition. */
export const memoryRpcMethods = (kg: KnowledgeGraphService): ExtraMethods => {
  const table: Record<string, MethodDef> = {};
  for (const [name, method] of Object.entries(memoryMethods)) {
    const m = method as MemoryMethod<unknown, unknown>;
    const params = Schema.extend(
      m.params as Schema.Schema<Readonly<Record<string, unknown>>, Readonly<Record<string, unknown>>>,
      TenantParam,
    );
    table[name] = {
      params: params as MethodDef["params"],
      run: (decoded, caller) => {
        const { tenant, ...rest } = decoded as { readonly tenant?: string };
        return Effect.flatMap(partitionOfCall(caller, tenant), (partition) =>
          Effect.mapError(m.run(kg.partition(partition), rest), toRpcFailure),
        );
      },
    };
  }
  return table;
};
