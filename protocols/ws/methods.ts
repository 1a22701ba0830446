/**
 * The method table: for each JSON-RPC method, its params schema and a handler over the runtime's
 * public service API. Handlers see only the caller's tenant: a tree of another tenant answers
 * exactly as a tree that does not exist, so tenants cannot even probe each other's ids. A tenant's
 * tree ids are opaque (`name-<random>`), so they tell nothing of what others run; the operator tenants
 * (`local`, `default`) keep readable ids and see runtime-wide `runtime.stats`.
 */
import { SpanKind } from "@opentelemetry/api";
import { Effect, type Schema } from "effect";
import { NotFound } from "../../runtime/errors.ts";
import type { AgentSystemService, TreeSummary } from "../../runtime/system.ts";
import { withSpan } from "../../runtime/tracing.ts";
import { approvalHandlers } from "./approval-methods.ts";
import { askOn } from "./ask.ts";
import { localTenant } from "./auth.ts";
import { RpcCode, type RpcFailure, rpcFailure, toRpcFailure } from "./codes.ts";
import { type MethodName, MethodParams, type MethodResults, type ParamsOf } from "./contract.ts";
import { defaultTenant, type ServerLimits } from "./options.ts";
import type { Ownership } from "./ownership.ts";
import type { EventHub, Subscriber } from "./subscriptions.ts";

/** What a handler knows about its caller. */
export interface CallerContext {
  readonly tenant: string;
  readonly subscriber: Subscriber;
}

/** What handlers are built from. */
export interface MethodDeps {
  readonly system: AgentSystemService;
  readonly ownership: Ownership;
  readonly hub: EventHub;
  readonly limits: ServerLimits;
}

/** One method: a params schema and a handler. */
export interface MethodDef {
  readonly params: Schema.Schema<unknown, unknown, never>;
  readonly run: (params: unknown, caller: CallerContext) => Effect.Effect<unknown, RpcFailure>;
}

/** Extra methods contributed by other areas (tools, providers, memory), merged into the table. */
export type ExtraMethods = Readonly<Record<string, MethodDef>>;

type Handlers = {
  readonly [M in MethodName]: (
    params: ParamsOf<M>,
    caller: CallerContext,
  ) => Effect.Effect<MethodResults[M], unknown>;
};

const running = (tree: TreeSummary) => tree.status !== "stopped";

const isOperator = (caller: CallerContext) =>
  caller.tenant === localTenant || caller.tenant === defaultTenant;

/** Builds the method table over the runtime. */
export const makeMethods = (deps: MethodDeps, extra: ExtraMethods = {}): ReadonlyMap<string, MethodDef> => {
  const { system, ownership, hub, limits } = deps;

  /** Fails with tree_not_found unless the caller's tenant owns the tree. */
  const ownTree = (treeId: string, caller: CallerContext) =>
    Effect.flatMap(ownership.ownerOf(treeId), (owner) =>
      owner === caller.tenant
        ? Effect.void
        : Effect.fail(new NotFound({ reason: "tree_not_found", target: treeId })),
    );

  /** Fails with agent_not_found unless the agent lives in a tree the caller's tenant owns. */
  const ownAgent = (to: string, caller: CallerContext) =>
    Effect.flatMap(system.treeOf(to), (tree) =>
      tree.tenant === caller.tenant
        ? Effect.void
        : Effect.fail(new NotFound({ reason: "agent_not_found", target: to })),
    );

  const tenantUsage = (tenant: string) =>
    Effect.map(system.listTrees(), (trees) => {
      const mine = trees.filter((t) => t.tenant === tenant && running(t));
      return { trees: mine.length, agents: mine.reduce((n, t) => n + t.agents, 0) };
    });

  const limitError = (detail: string, limit: number) =>
    rpcFailure(RpcCode.notAllowed, "limit", "user", detail, { limit });

  const handlers: Handlers = {
    "tree.spawn": ({ spec }, caller) =>
      Effect.gen(function* () {
        const before = yield* tenantUsage(caller.tenant);
        if (before.trees >= limits.maxTreesPerTenant) {
          return yield* Effect.fail(
            limitError(
              `tenant ${caller.tenant} already runs ${before.trees} trees (limit ${limits.maxTreesPerTenant})`,
              limits.maxTreesPerTenant,
            ),
          );
        }
        if (before.agents >= limits.maxAgentsPerTenant) {
          return yield* Effect.fail(
            limitError(
              `tenant ${caller.tenant} already runs ${before.agents} agents (limit ${limits.maxAgentsPerTenant})`,
              limits.maxAgentsPerTenant,
            ),
          );
        }
        const handle = yield* ownership.spawn(
          caller.tenant,
          system.spawnTree(spec, { tenant: caller.tenant, opaqueId: !isOperator(caller) }),
        );
        const after = yield* tenantUsage(caller.tenant);
        if (after.agents > limits.maxAgentsPerTenant) {
          yield* Effect.ignore(system.stopTree(handle.treeId, "agent limit exceeded"));
          return yield* Effect.fail(
            limitError(
              `spawning this tree would run ${after.agents} agents for tenant ${caller.tenant} (limit ${limits.maxAgentsPerTenant}); it was stopped`,
              limits.maxAgentsPerTenant,
            ),
          );
        }
        return { treeId: handle.treeId, root: handle.root };
      }),
    "tree.list": (_, caller) =>
      Effect.map(system.listTrees(), (trees) => ({ trees: trees.filter((t) => t.tenant === caller.tenant) })),
    "tree.inspect": ({ treeId }, caller) =>
      Effect.flatMap(ownTree(treeId, caller), () => system.inspect(treeId)),
    "tree.stop": ({ treeId, reason }, caller) =>
      Effect.flatMap(ownTree(treeId, caller), () => system.stopTree(treeId, reason)).pipe(
        Effect.as({ treeId, stopped: true as const }),
      ),
    "agent.send": ({ to, message }, caller) =>
      Effect.flatMap(ownAgent(to, caller), () => system.send(to, message)).pipe(
        Effect.as({ sent: true as const }),
      ),
    "agent.ask": ({ to, input, timeoutMs, requestId, thread, stream, idempotencyKey }, caller) =>
      Effect.zipRight(
        ownAgent(to, caller),
        askOn(system, caller, { to, input, timeoutMs, requestId, thread, stream, idempotencyKey }),
      ).pipe(
        // The edge of the trace: the ask as the server received it.
        withSpan(
          "agent.ask",
          () => ({ "arbor.agent.address": to, "arbor.tenant": caller.tenant }),
          SpanKind.SERVER,
        ),
      ),
    "agent.cancel": ({ to, requestId }, caller) =>
      Effect.zipRight(ownAgent(to, caller), system.cancel(to, requestId)),
    "agent.history": ({ to, thread }, caller) =>
      Effect.zipRight(ownAgent(to, caller), system.history(to, thread)).pipe(
        Effect.map((messages) => ({ thread, messages })),
      ),
    "agent.stop": ({ to, reason }, caller) =>
      Effect.flatMap(ownAgent(to, caller), () => system.stopAgent(to, reason)).pipe(
        Effect.as({ stopped: true as const }),
      ),
    "agent.kill": ({ to, reason }, caller) =>
      Effect.flatMap(ownAgent(to, caller), () => system.killAgent(to, reason ?? "killed by operator")).pipe(
        Effect.as({ killed: true as const }),
      ),
    "events.subscribe": ({ treeId, types }, caller) =>
      Effect.gen(function* () {
        if (treeId !== undefined) yield* ownTree(treeId, caller);
        if (hub.count(caller.subscriber) >= limits.maxSubscriptions) {
          return yield* Effect.fail(
            limitError(
              `this connection already has ${limits.maxSubscriptions} subscriptions`,
              limits.maxSubscriptions,
            ),
          );
        }
        return { subscription: hub.subscribe(caller.subscriber, { treeId, types }) };
      }),
    "events.unsubscribe": ({ subscription }, caller) =>
      Effect.sync(() => ({ unsubscribed: hub.unsubscribe(caller.subscriber, subscription) })),
    "runtime.stats": (_, caller) => system.stats(isOperator(caller) ? undefined : { tenant: caller.tenant }),
    ...approvalHandlers(system, isOperator),
  };

  const table = new Map<string, MethodDef>();
  for (const name of Object.keys(handlers) as Array<MethodName>) {
    const handler = handlers[name] as (p: unknown, c: CallerContext) => Effect.Effect<unknown, unknown>;
    table.set(name, {
      params: MethodParams[name] as unknown as Schema.Schema<unknown, unknown, never>,
      run: (params, caller) => Effect.mapError(handler(params, caller), toRpcFailure),
    });
  }
  for (const [name, def] of Object.entries(extra)) table.set(name, def);
  return table;
};
