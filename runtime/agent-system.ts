/**
 * `makeAgentSystem`: the runtime. It owns the event bus, the router, the plugin registry and the
 * running trees, and implements the public `AgentSystemService` API that protocols and TypeScript
 * users call. Scoped: closing its scope stops every tree (in order), then unloads plugins in
 * reverse load order.
 */

import { Effect, Either, ExecutionStrategy, Exit, FiberSet, Layer, Runtime, Scope } from "effect";
import type { AgentCell } from "./agent/cell.ts";
import { settle } from "./agent/envelope.ts";
import { agentOps } from "./agent/ops.ts";
import type { AgentInfo } from "./agent-info.ts";
import { makeApprovals, readApprovalsTimeout } from "./approvals.ts";
import { type Counters, makeCounters } from "./counters.ts";
import { directModelRouter, noGuardrails, noTools } from "./defaults.ts";
import { DurableTree } from "./durable/durable-tree.ts";
import { askOnce } from "./durable/idempotency.ts";
import { type ResumeReport, resumeTrees } from "./durable/resume.ts";
import type { RestoredAgent } from "./durable/state.ts";
import type { DurableStore, DurableStoreFailed, StoredTree } from "./durable/store.ts";
import { Cancelled, NotAllowed, NotFound, PluginError, SpecInvalid, Timeout } from "./errors.ts";
import { type EventBus, makeEventBus } from "./events.ts";
import type { GuardrailRunner } from "./guardrail.ts";
import type { ModelRouter } from "./model.ts";
import type { Plugin } from "./plugin.ts";
import { Registry } from "./plugin-host.ts";
import { Router } from "./router.ts";
import { type CompileContext, compileTree } from "./spec/compile.ts";
import {
  AgentSystem,
  type AgentSystemService,
  type AskError,
  type Reply,
  type SpawnOptions,
  type TreeHandle,
} from "./system.ts";
import type { AgentOps } from "./tool.ts";
import { Tree, type TreeEnd } from "./tree.ts";
import { opaqueId, uniqueId } from "./tree-id.ts";

export interface AgentSystemOptions {
  /** Runtime-level plugins, loaded in dependency order. */
  readonly plugins?: ReadonlyArray<Plugin>;
  /** The configuration file's contents; each plugin validates its own section. */
  readonly config?: Readonly<Record<string, unknown>>;
  /**
   * Where durable trees are kept (the knowledge store). Without it a spec asking for `durable`
   * is refused. `byDefault` makes every tree durable unless its spec says `"durable": false`.
   */
  readonly durable?: { readonly store: DurableStore; readonly byDefault?: boolean };
}

/** The runtime service plus the internals tests and the CLI's run command need. */
export interface ArborRuntime extends AgentSystemService {
  readonly router: Router;
  readonly registry: Registry;
  /** Resolves when the tree has stopped, with how it ended. */
  readonly awaitTree: (treeId: string) => Effect.Effect<TreeEnd, NotFound>;
  /** The runtime-level model router (the installed one, else direct dispatch), e.g. for embeddings. */
  readonly models: () => ModelRouter;
  /** The runtime-level guardrails (the config's settings), for model calls made outside any tree. */
  readonly guardrails: () => GuardrailRunner;
  /** What tools do for a caller outside any tree (MCP clients, `tools.call` without `as`): send and ask, never spawn. */
  readonly operatorOps: AgentOps;
  /** Live trees (internal; for inspection and the no-orphan checks). */
  readonly trees: () => ReadonlyArray<Tree>;
  readonly events: EventBus;
  /**
   * Brings back every durable tree kept in the store, under its id and addresses, with its tasks.
   * A tree whose stored state cannot be used stays down (evented as `tree.resume_failed`); the
   * others come back. Call once, before accepting requests.
   */
  readonly resumeDurable: () => Effect.Effect<ResumeReport, DurableStoreFailed>;
}

const sumCounters = (all: Iterable<Counters>): Counters => {
  const total = makeCounters();
  for (const c of all) for (const key of Object.keys(total) as Array<keyof Counters>) total[key] += c[key];
  return total;
};

export const makeAgentSystem = (
  options: AgentSystemOptions = {},
): Effect.Effect<ArborRuntime, PluginError, Scope.Scope> =>
  Effect.gen(function* () {
    const clock = yield* Effect.clock;
    const now = () => clock.unsafeCurrentTimeMillis();
    const random = yield* Effect.random;
    const random01 = () => Effect.runSync(random.next);
    const events = yield* makeEventBus(now);
    // One set of counters per tenant (undefined: trees without one); runtime-wide figures are their sum.
    const countersByTenant = new Map<string | undefined, Counters>();
    const countersOf = (tenant: string | undefined): Counters => {
      let counters = countersByTenant.get(tenant);
      if (counters === undefined) {
        counters = makeCounters();
        countersByTenant.set(tenant, counters);
      }
      return counters;
    };
    const router = new Router(events);
    const config = options.config ?? {};
    const approvalTimeout = readApprovalsTimeout(config);
    if (Either.isLeft(approvalTimeout))
      return yield* new PluginError({
        reason: "setup_failed",
        plugin: "approvals",
        detail: approvalTimeout.left,
      });
    const approvalTimeoutMs = approvalTimeout.right;
    const trees = new Map<string, Tree>();
    const approvals = makeApprovals({
      events,
      now,
      ...(approvalTimeoutMs !== undefined ? { timeoutMs: approvalTimeoutMs } : {}),
      // An approval, pending or decided, is kept with its agent's durable state.
      onChange: (entry) => {
        const durable = trees.get(entry.tree)?.durable;
        const cell = durable && (router.resolve(entry.address) as AgentCell | undefined);
        if (durable && cell) durable.touch(cell);
      },
    });
    const registry = new Registry(undefined, events, config);
    const systemScope = yield* Effect.scope;
    yield* registry.load(options.plugins ?? [], systemScope);
    const runtime = yield* Effect.runtime<never>();
    const runDetached = (effect: Effect.Effect<void>) => void Runtime.runFork(runtime)(effect);
    // Trees' scopes live in this one, made before the finalizer below: it closes after the trees
    // were stopped in order (a tree's scope closing first would interrupt its fibers out of order).
    const treesScope = yield* Scope.fork(systemScope, ExecutionStrategy.sequential);
    // Added after the plugins: runs before they unload. Durable trees are kept as they are.
    yield* Effect.addFinalizer(() =>
      Effect.forEach(
        [...trees.values()].reverse(),
        (tree) => tree.stop("runtime shutting down", "stopped", true),
        { discard: true },
      ),
    );

    const findTree = (treeId: string) =>
      Effect.suspend(() => {
        const tree = trees.get(treeId);
        return tree
          ? Effect.succeed(tree)
          : Effect.fail(new NotFound({ reason: "tree_not_found", target: treeId }));
      });
    const findCell = (to: string) =>
      Effect.suspend(() => {
        const cell = router.resolve(to) as AgentCell | undefined;
        return cell
          ? Effect.succeed(cell)
          : Effect.fail(new NotFound({ reason: "agent_not_found", target: to }));
      });

    /** Trees kept in the durable store that could not come back: their ids stay reserved. */
    const downTrees = new Set<string>();
    const durableWanted = (spec: unknown, spawn: SpawnOptions): boolean => {
      if (spawn.durable !== undefined) return spawn.durable;
      const field =
        typeof spec === "object" && spec !== null ? (spec as { durable?: unknown }).durable : undefined;
      return typeof field === "boolean" ? field : (options.durable?.byDefault ?? false);
    };

    const spawnTree = (
      spec: unknown,
      spawn: SpawnOptions = {},
      resuming?: { readonly stored: StoredTree; readonly agents: ReadonlyMap<string, RestoredAgent> },
    ): Effect.Effect<TreeHandle, SpecInvalid | PluginError | DurableStoreFailed> =>
      Effect.gen(function* () {
        const name =
          typeof spec === "object" && spec !== null && typeof (spec as { name?: unknown }).name === "string"
            ? (spec as { name: string }).name
            : "tree";
        const durable = durableWanted(spec, spawn);
        if (durable && options.durable === undefined)
          return yield* new SpecInvalid({
            reason: "invalid_spec",
            problems: [
              {
                path: "$.durable",
                message:
                  "durable trees need a durable store: run `arbor serve` with memory on (without --no-memory), or give createArbor a store",
              },
            ],
          });
        const treeId =
          resuming?.stored.treeId ??
          (spawn.opaqueId ? opaqueId : uniqueId)(name, (id) => trees.has(id) || downTrees.has(id));
        const treeScope = yield* Scope.fork(treesScope, ExecutionStrategy.sequential);
        const treeRegistry = new Registry(registry, events, config, treeId);
        const loaded = yield* Effect.either(treeRegistry.load(spawn.plugins ?? [], treeScope));
        if (Either.isLeft(loaded)) {
          yield* Scope.close(treeScope, Exit.void);
          return yield* loaded.left;
        }
        const providers = treeRegistry.lookup("provider");
        const compileContext: CompileContext = {
          providers: { get: providers.get, names: providers.names },
          hasHandler: (h) => treeRegistry.lookup("handler").get(h) !== undefined,
          hasTool: (t) => treeRegistry.lookup("tool").get(t) !== undefined,
          sections: treeRegistry.lookup("section").all(),
          extensions: treeRegistry.lookup("extension").all(),
          treeId,
        };
        const compiled = compileTree(spec, compileContext);
        if (Either.isLeft(compiled)) {
          yield* Scope.close(treeScope, Exit.void);
          return yield* compiled.left;
        }
        const store = durable ? options.durable?.store : undefined;
        const durableTree = store ? new DurableTree(treeId, store, events, runDetached) : undefined;
        if (store && durableTree) {
          if (resuming) {
            durableTree.resumedAt = now();
            yield* store.markResumed(treeId, durableTree.resumedAt);
          } else {
            const kept = yield* Effect.either(
              store.createTree({
                treeId,
                ...(spawn.tenant !== undefined ? { tenant: spawn.tenant } : {}),
                spec,
                createdAt: now(),
              }),
            );
            if (Either.isLeft(kept)) {
              yield* Scope.close(treeScope, Exit.void);
              return yield* kept.left;
            }
          }
        }
        const fibers = yield* FiberSet.make<unknown, unknown>().pipe(Scope.extend(treeScope));
        const run = yield* FiberSet.runtime(fibers)<never>();
        const tree = new Tree({
          ...(durableTree ? { durable: durableTree } : {}),
          ...(resuming ? { restore: resuming.agents } : {}),
          compiled: compiled.right,
          tenant: spawn.tenant,
          events,
          now,
          random01,
          router,
          approvals,
          counters: countersOf(spawn.tenant),
          registry: treeRegistry,
          scope: treeScope,
          fibers,
          run: (effect) => run(effect),
          runDetached,
          compileContext,
          onStopped: (t) => trees.delete(t.treeId),
        });
        trees.set(treeId, tree);
        tree.start();
        return { treeId, name: tree.name, root: tree.root.address };
      });

    /** Who calls tools from outside a tree (`tools.call` without `as`, MCP clients). */
    const operator: AgentInfo = {
      tree: "",
      treeId: "",
      address: "/operator",
      id: "operator",
      name: "operator",
      kind: "parent",
      depth: 0,
      settings: {},
    };
    const operatorOps: AgentOps = {
      spawn: () =>
        Effect.fail(
          new NotAllowed({
            reason: "permission",
            address: operator.address,
            detail: "the operator spawns trees (tree.spawn), not single agents; call spawn_agent as an agent",
          }),
        ),
      send: (to, message) => router.send(to, message),
      resolve: (to) => router.resolve(to)?.address ?? to,
      ask: (to, input, timeoutMs, thread) =>
        Effect.map(
          service.ask(to, input, {
            ...(timeoutMs !== undefined ? { timeoutMs } : {}),
            ...(thread !== undefined ? { thread } : {}),
          }),
          (r) => r.output,
        ),
    };
    /** The caller's deadline on an ask: past it, `Timeout` (and the ask is withdrawn). */
    const timed = (to: string, ask: Effect.Effect<Reply, AskError>, timeoutMs: number | undefined) =>
      timeoutMs === undefined
        ? ask
        : ask.pipe(
            Effect.timeoutFail({
              duration: timeoutMs,
              onTimeout: () => new Timeout({ reason: "timeout", target: to, afterMs: timeoutMs }),
            }),
          );
    let nextCall = 0;
    const service: ArborRuntime = {
      spawnTree,
      listTrees: () => Effect.sync(() => [...trees.values()].map((t) => t.summary())),
      inspect: (treeId) => Effect.map(findTree(treeId), (t) => t.inspect()),
      specOf: (treeId) => Effect.map(findTree(treeId), (t) => t.spec),
      stopTree: (treeId, reason = "stopped by request") =>
        Effect.flatMap(findTree(treeId), (t) => Effect.asVoid(t.stop(reason, "stopped"))),
      treeOf: (to) =>
        Effect.suspend(() => {
          const direct = trees.get(to);
          if (direct) return Effect.succeed(direct.summary());
          return Effect.flatMap(findCell(to), (cell) =>
            Effect.map(findTree(cell.treeId), (t) => t.summary()),
          );
        }),
      send: (to, message) => router.send(to, message),
      ask: (to, input, askOptions) =>
        Effect.suspend(() => {
          if (askOptions?.idempotencyKey !== undefined) {
            const cell = router.resolve(to) as AgentCell | undefined;
            if (cell !== undefined)
              return timed(
                to,
                askOnce(cell, askOptions.idempotencyKey, router.ask(to, input, undefined, askOptions)),
                askOptions.timeoutMs,
              );
          }
          // A handler micro agent answers synchronously: no fiber, no timer.
          const fast = router.askNow(to, input);
          if (fast !== undefined && "now" in fast) return fast.now;
          return timed(
            to,
            fast?.later ?? router.ask(to, input, undefined, askOptions),
            askOptions?.timeoutMs,
          );
        }),
      askWith: (to, input, done) => {
        let withdrawn = false;
        // Always on a later microtask: the caller's bookkeeping never runs inside an agent's step end.
        const answer = (exit: Exit.Exit<Reply, AskError>) =>
          queueMicrotask(() => {
            if (!withdrawn) done(exit);
          });
        const fast = router.askNow(to, input);
        let withdraw: () => void;
        if (fast === undefined) withdraw = router.askWith(to, input, undefined, {}, answer);
        else if ("now" in fast) {
          answer(fast.now);
          withdraw = () => {};
        } else {
          const fiber = Effect.runFork(fast.later);
          fiber.addObserver(answer);
          withdraw = () => fiber.unsafeInterruptAsFork(fiber.id());
        }
        return () => {
          withdrawn = true;
          withdraw();
        };
      },
      cancel: (to, requestId) =>
        Effect.map(findCell(to), (cell) => {
          const found = cell.cancel(requestId, (envelope) =>
            settle(envelope, Exit.fail(new Cancelled({ reason: "cancelled", target: to, requestId }))),
          );
          return { cancelled: found };
        }),
      history: (to, thread) => Effect.map(findCell(to), (cell) => cell.history(thread)),
      shownBy: (to, text) =>
        Effect.flatMap(findCell(to), (cell) =>
          cell.tree.services
            .guardrails()
            .check({ stage: "output", text, agent: cell.info, destination: "local" })
            .pipe(Effect.orElseSucceed(() => "[withheld by the guardrails]")),
        ),
      stopAgent: (to, reason = "stopped by request") =>
        Effect.flatMap(findCell(to), (cell) => {
          if (!cell.parent)
            return Effect.asVoid(Effect.flatMap(findTree(cell.treeId), (t) => t.stop(reason, "stopped")));
          return Effect.sync(() => {
            cell.stop(reason, true);
            cell.parent?.supervisor?.remove(cell);
          });
        }),
      killAgent: (to, reason = "killed by request") => Effect.map(findCell(to), (cell) => cell.kill(reason)),
      stats: (scope) =>
        Effect.sync(() => {
          const all = scope === undefined;
          const counted = [...trees.values()].filter((t) => all || t.tenant === scope.tenant);
          return {
            trees: counted.length,
            agentsLive: counted.reduce((sum, t) => sum + t.agentCount(), 0),
            ...(all ? sumCounters(countersByTenant.values()) : { ...countersOf(scope.tenant) }),
          };
        }),
      toolsFor: (agent) =>
        agent === undefined
          ? Effect.sync(() => service.tools.visible(operator))
          : Effect.map(findCell(agent), (cell) => cell.tree.services.tools().visible(cell.info)),
      callTool: (name, args, as) =>
        Effect.flatMap(
          as === undefined
            ? Effect.succeed({ runner: service.tools, ctx: { agent: operator, ops: operatorOps } })
            : Effect.map(findCell(as), (cell) => ({
                runner: cell.tree.services.tools(),
                ctx: { agent: cell.info, ops: agentOps(cell) },
              })),
          ({ runner, ctx }) => runner.call({ id: `call_op_${(nextCall++).toString(36)}`, name, args }, ctx),
        ),
      events,
      approvals,
      providers: {
        get: (n) => registry.lookup("provider").get(n),
        names: () => registry.lookup("provider").names(),
      },
      get tools() {
        const make = registry.factory("toolRunner");
        const guardrails =
          registry.factory("guardrailRunner")?.(registry.lookup("guardrail")) ?? noGuardrails;
        return make ? make(registry.lookup("tool"), guardrails) : noTools;
      },
      router,
      registry,
      operatorOps,
      guardrails: () => registry.factory("guardrailRunner")?.(registry.lookup("guardrail")) ?? noGuardrails,
      models: () => {
        const providers = registry.lookup("provider");
        return (registry.factory("router") ?? directModelRouter)({
          get: providers.get,
          names: providers.names,
        });
      },
      awaitTree: (treeId) =>
        Effect.suspend(() => {
          const tree = trees.get(treeId);
          return tree
            ? Effect.flatMap(Effect.succeed(tree), (t) => t.awaitEnd())
            : Effect.fail(new NotFound({ reason: "tree_not_found", target: treeId }));
        }),
      trees: () => [...trees.values()],
      resumeDurable: () =>
        options.durable === undefined
          ? Effect.succeed({ resumed: [], down: [] })
          : resumeTrees(options.durable.store, {
              spawn: (stored, agents) =>
                Effect.tap(
                  spawnTree(
                    stored.spec,
                    { ...(stored.tenant !== undefined ? { tenant: stored.tenant } : {}), durable: true },
                    { stored, agents },
                  ),
                  (handle) =>
                    Effect.sync(() => trees.get(handle.treeId)?.answers.restoreStored(stored.answers)),
                ),
              keepDown: (treeId) => downTrees.add(treeId),
              events,
            }),
    };
    return service;
  });

/** The runtime as a Layer (scoped): `Layer<AgentSystem, PluginError>`. */
export const layerAgentSystem = (options: AgentSystemOptions = {}): Layer.Layer<AgentSystem, PluginError> =>
  Layer.scoped(AgentSystem, makeAgentSystem(options));
