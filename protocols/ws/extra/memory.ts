/**
 * The `memory.*` methods (remember, recall, relate, neighbors, ingest, ingestMany, ingestPart,
 * search, similarEntities, lineage, answer) over a knowledge graph, with the params schemas and handlers of the knowledge area's
 * own method table, so the wire and the agent tools always agree on shapes.
 *
 * Memory is partitioned per tenant: a tenant reads and writes only its own partition (the same one
 * its agents' memory tools use). The operator tenants (`local`: loopback without a token;
 * `default`: the `ARBOR_TOKEN` holder) use the default partition, and may name any tenant's with
 * the optional `tenant` param. A tenant that names another tenant is refused with -32001.
 */
import { Clock, Effect, Schema } from "effect";
import { type AnswerDeps, AnswerParams, answerQuestion } from "../../../knowledge/answer.ts";
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

/**
 * `memory.ingestPart {uploadId, documentId, index, count, text, metadata?}`: one part of a document
 * too big for one frame. Parts may come in any order; when all `count` have arrived the document is
 * ingested and the answer carries its result.
 */
const IngestPartParams = Schema.Struct({
  uploadId: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  documentId: Schema.String.pipe(Schema.trimmed(), Schema.minLength(1), Schema.maxLength(512)),
  index: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  count: Schema.Number.pipe(Schema.int(), Schema.between(1, 10_000)),
  text: Schema.String,
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  tenant: Schema.optional(Schema.NonEmptyString.pipe(Schema.maxLength(256))),
});

/** Most bytes of unfinished uploads held at once, and how long an idle one is kept. */
const PARTS_MAX_BYTES = 256 * 1024 * 1024;
const PARTS_IDLE_MS = 10 * 60_000;

interface Upload {
  readonly documentId: string;
  readonly parts: Array<string | undefined>;
  received: number;
  bytes: number;
  touched: number;
  metadata: Readonly<Record<string, unknown>> | undefined;
}

/** The `memory.ingestPart` method: a buffer of unfinished uploads, by partition and upload id. */
const ingestPartMethod = (kg: KnowledgeGraphService): MethodDef => {
  const uploads = new Map<string, Upload>();
  let held = 0;
  const drop = (key: string) => {
    held -= uploads.get(key)?.bytes ?? 0;
    uploads.delete(key);
  };
  return {
    params: IngestPartParams as unknown as MethodDef["params"],
    run: (decoded, caller) =>
      Effect.gen(function* () {
        const p = decoded as typeof IngestPartParams.Type;
        const partition = yield* partitionOfCall(caller, p.tenant);
        const now = yield* Clock.currentTimeMillis;
        for (const [key, u] of uploads) if (now - u.touched > PARTS_IDLE_MS) drop(key);
        const key = `${partition}\u0000${p.uploadId}`;
        const refuse = (detail: string) =>
          rpcFailure(RpcCode.invalidParams, "invalid_params", "user", detail);
        if (p.index >= p.count)
          return yield* Effect.fail(refuse(`part ${p.index} of ${p.count}: index must be below count`));
        const upload: Upload = uploads.get(key) ?? {
          documentId: p.documentId,
          parts: new Array<string | undefined>(p.count).fill(undefined),
          received: 0,
          bytes: 0,
          touched: now,
          metadata: undefined,
        };
        if (upload.documentId !== p.documentId || upload.parts.length !== p.count)
          return yield* Effect.fail(
            refuse(`upload ${p.uploadId} is for ${upload.documentId} in ${upload.parts.length} parts`),
          );
        const size = p.text.length * 2;
        if (held + size > PARTS_MAX_BYTES)
          return yield* Effect.fail(
            rpcFailure(
              RpcCode.overloaded,
              "too_much_buffered",
              "user",
              "too many unfinished uploads; finish or wait for them",
            ),
          );
        if (upload.parts[p.index] === undefined) {
          upload.received += 1;
          upload.bytes += size;
          held += size;
        }
        upload.parts[p.index] = p.text;
        upload.touched = now;
        if (p.metadata) upload.metadata = p.metadata;
        uploads.set(key, upload);
        if (upload.received < p.count) return { received: upload.received, count: p.count, complete: false };
        drop(key);
        const result = yield* Effect.mapError(
          kg.partition(partition).ingest({
            documentId: p.documentId,
            text: upload.parts.join(""),
            ...(upload.metadata ? { metadata: upload.metadata } : {}),
          }),
          toRpcFailure,
        );
        return { received: p.count, count: p.count, complete: true, result };
      }),
  };
};

const AnswerWireParams = Schema.extend(AnswerParams, TenantParam);

/** `memory.answer {question, k?, mode?, model?}`: retrieve from the caller's partition, then generate. */
const answerMethod = (kg: KnowledgeGraphService, deps: () => AnswerDeps): MethodDef => ({
  params: AnswerWireParams as unknown as MethodDef["params"],
  run: (decoded, caller) => {
    const { tenant, ...params } = decoded as typeof AnswerWireParams.Type;
    return Effect.flatMap(partitionOfCall(caller, tenant), (partition) =>
      Effect.mapError(answerQuestion(kg.partition(partition), deps(), params, partition), toRpcFailure),
    );
  },
});

/**
 * The `memory.*` methods over one knowledge graph, each on the caller's partition; with `answer`
 * (the runtime's router and guardrails) also `memory.answer`.
 */
export const memoryRpcMethods = (kg: KnowledgeGraphService, answer?: () => AnswerDeps): ExtraMethods => {
  const table: Record<string, MethodDef> = {
    "memory.ingestPart": ingestPartMethod(kg),
    ...(answer ? { "memory.answer": answerMethod(kg, answer) } : {}),
  };
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
