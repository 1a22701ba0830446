/**
 * A running tree: its cells, its scope (the tree's plugins and every fiber its agents fork live in
 * it), and its end. Stopping a tree stops the root — and so every agent, children before parents,
 * last started first — then closes the scope, which interrupts any fiber left and unloads the tree's
 * plugins. Nothing of a stopped tree stays behind.
 */
import { Deferred, Effect, type Either, Exit, type Fiber, FiberId, FiberSet, Scope } from "effect";
import { AgentCell } from "./agent/cell.ts";
import type { StepServices, TreeHost } from "./agent/host.ts";
import type { Approvals } from "./approvals.ts";
import type { Counters } from "./counters.ts";
import { directModelRouter, noGuardrails, noTools, noTripwires } from "./defaults.ts";
import { AnswerBook } from "./durable/answers.ts";
import type { DurableTree } from "./durable/durable-tree.ts";
import type { RestoredAgent } from "./durable/state.ts";
import type { SpecInvalid } from "./errors.ts";
import type { EventBus } from "./events.ts";
import type { MicroHandler } from "./plugin.ts";
import type { Registry } from "./plugin-host.ts";
import { noRecall } from "./recall.ts";
import type { Router } from "./router.ts";
import { type CompileContext, type CompiledAgent, type CompiledTree, compileAgent } from "./spec/compile.ts";
import type { AgentNode, TreeSummary } from "./system.ts";

/** How a tree ended. */
export interface TreeEnd {
  readonly status: "completed" | "stopped" | "failed";
  readonly reason: string;
}

export interface TreeOptions {
  readonly compiled: CompiledTree;
  readonly tenant: string | undefined;
  readonly events: EventBus;
  readonly now: () => number;
  readonly random01: () => number;
  readonly router: Router;
  readonly counters: Counters;
  readonly registry: Registry;
  readonly scope: Scope.CloseableScope;
  readonly fibers: FiberSet.FiberSet<unknown, unknown>;
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>;
  /** Forks outside the tree (for the tree's own shutdown). */
  readonly runDetached: (effect: Effect.Effect<void>) => void;
  readonly compileContext: CompileContext;
  readonly onStopped: (tree: Tree) => void;
  /** Set for a durable tree: where its state is written. */
  readonly durable?: DurableTree;
  /** A durable tree coming back: its agents' stored state by address. */
  readonly restore?: ReadonlyMap<string, RestoredAgent>;
  readonly approvals: Approvals;
}

export class Tree implements TreeHost {
  readonly treeId: string;
  readonly name: string;
  readonly tenant: string | undefined;
  readonly events: EventBus;
  readonly now: () => number;
  readonly random01: () => number;
  readonly router: Router;
  readonly approvals: Approvals;
  readonly counters: Counters;
  readonly limits: CompiledTree["limits"];
  readonly startedAt: number;
  status: "running" | "stopping" | "stopped" = "running";
  readonly root: AgentCell;
  readonly ended: Deferred.Deferred<TreeEnd>;
  readonly answers: AnswerBook;
  readonly durable: DurableTree | undefined;
  private restoreMap: ReadonlyMap<string, RestoredAgent> | undefined;
  private live = 0;
  private built: { version: number; services: ReturnType<Tree["build"]> } | undefined;

  constructor(private readonly options: TreeOptions) {
    this.treeId = options.compiled.treeId;
    this.name = options.compiled.spec.name;
    this.tenant = options.tenant;
    this.events = options.events;
    this.now = options.now;
    this.random01 = options.random01;
    this.router = options.router;
    this.approvals = options.approvals;
    this.counters = options.counters;
    this.limits = options.compiled.limits;
    this.startedAt = options.now();
    this.ended = Deferred.unsafeMake<TreeEnd>(FiberId.none);
    this.durable = options.durable;
    this.answers = new AnswerBook(options.now, options.durable);
    this.restoreMap = options.restore;
    this.root = new AgentCell(this, options.compiled.root, undefined);
  }

  /** While the tree comes back (until `start` returns): the stored state of an agent. */
  readonly restoring = (address: string): RestoredAgent | undefined => this.restoreMap?.get(address);

  /** The spec the tree was spawned from, after extensions filled it in (roles, workflow). */
  get spec(): Readonly<Record<string, unknown>> {
    return this.options.compiled.spec as unknown as Readonly<Record<string, unknown>>;
  }

  start(): void {
    this.events.publishSync({
      type: "tree.started",
      tree: this.treeId,
      address: `/${this.treeId}`,
      id: this.treeId,
      name: this.name,
    });
    this.root.start();
    if (this.restoreMap !== undefined) this.respawnDynamic(this.restoreMap);
    this.restoreMap = undefined;
  }

  /** Runtime-spawned agents of a tree coming back are spawned again below their parents, shallowest first. */
  private respawnDynamic(restore: ReadonlyMap<string, RestoredAgent>): void {
    const dynamic = [...restore.entries()]
      .filter(([, agent]) => agent.state.dynamic !== undefined)
      .sort(([a], [b]) => a.split("/").length - b.split("/").length);
    for (const [, agent] of dynamic) {
      const parent = this.router.resolve(agent.state.dynamic!.parent) as AgentCell | undefined;
      parent?.supervisor?.spawn(agent.state.dynamic!.spec);
    }
  }

  run<A, E>(effect: Effect.Effect<A, E>): Fiber.RuntimeFiber<A, E> {
    return this.options.run(effect);
  }

  readonly services: StepServices = {
    models: () => this.current().models,
    guardrails: () => this.current().guardrails,
    tools: () => this.current().tools,
    tripwires: () => this.current().tripwires,
    recall: () => this.current().recall,
  };

  private current() {
    const version = this.options.registry.version;
    if (!this.built || this.built.version !== version) this.built = { version, services: this.build() };
    return this.built.services;
  }

  private build() {
    const registry = this.options.registry;
    const providers = registry.lookup("provider");
    const guardrails = registry.factory("guardrailRunner")?.(registry.lookup("guardrail")) ?? noGuardrails;
    return {
      models: (registry.factory("router") ?? directModelRouter)({
        get: providers.get,
        names: providers.names,
      }),
      guardrails,
      tools: registry.factory("toolRunner")?.(registry.lookup("tool"), guardrails) ?? noTools,
      tripwires: registry.factory("tripwireMonitor")?.(registry.lookup("tripwire")) ?? noTripwires,
      recall: registry.factory("recall")?.() ?? noRecall,
    };
  }

  handler(name: string): MicroHandler | undefined {
    return this.options.registry.lookup("handler").get(name);
  }

  agentCount(): number {
    return this.live;
  }
  agentStarted(): void {
    this.live++;
  }
  agentStopped(): void {
    this.live--;
  }

  compileChild(raw: unknown, parent: CompiledAgent): Either.Either<CompiledAgent, SpecInvalid> {
    return compileAgent(raw, parent, this.options.compileContext, this.limits);
  }

  rootExited(reason: string, normal: boolean): void {
    this.options.runDetached(this.stop(reason, normal ? "completed" : "failed"));
  }

  stopTree(reason: string): void {
    this.options.runDetached(this.stop(reason, "stopped"));
  }

  /**
   * Stops everything in order and waits until nothing of the tree is left. Idempotent. A durable
   * tree is forgotten by its store — unless `keep` (the runtime is shutting down): then its last
   * state stays, and it comes back when the runtime starts again.
   */
  stop(reason: string, status: TreeEnd["status"], keep = false): Effect.Effect<TreeEnd> {
    return Effect.suspend(() => {
      if (this.status !== "running") return Deferred.await(this.ended);
      this.status = "stopping";
      const durable =
        this.durable === undefined ? Effect.void : keep ? this.durable.freeze() : this.durable.forget();
      return durable.pipe(
        Effect.zipRight(
          Effect.sync(() =>
            this.root.stop(reason, status !== "failed", status === "failed" ? "gave_up" : "stopped"),
          ),
        ),
        Effect.zipRight(Scope.close(this.options.scope, Exit.void)),
        Effect.zipRight(
          Effect.sync(() => {
            this.status = "stopped";
            this.events.publishSync({
              type: "tree.stopped",
              tree: this.treeId,
              address: `/${this.treeId}`,
              id: this.treeId,
              reason,
              status,
            });
            this.options.onStopped(this);
            this.approvals.dropTree(this.treeId);
          }),
        ),
        Effect.zipRight(Deferred.succeed(this.ended, { status, reason })),
        Effect.zipRight(Deferred.await(this.ended)),
      );
    });
  }

  /** Resolves when the tree has stopped. */
  awaitEnd(): Effect.Effect<TreeEnd> {
    return Deferred.await(this.ended);
  }

  /** Fibers still running in the tree (zero once it has stopped). */
  runningFibers(): Effect.Effect<number> {
    return FiberSet.size(this.options.fibers);
  }

  summary(): TreeSummary {
    return {
      treeId: this.treeId,
      name: this.name,
      root: this.root.address,
      ...(this.tenant !== undefined ? { tenant: this.tenant } : {}),
      status: this.status,
      agents: this.live,
      startedAt: this.startedAt,
      ...(this.durable !== undefined
        ? {
            durable: true,
            ...(this.durable.resumedAt !== undefined ? { resumedAt: this.durable.resumedAt } : {}),
          }
        : {}),
    };
  }

  inspect(): AgentNode {
    const node = (cell: AgentCell): AgentNode => ({
      id: cell.id,
      address: cell.address,
      name: cell.agent.name,
      kind: cell.agent.kind,
      ...(cell.agent.spec.role !== undefined ? { role: cell.agent.spec.role } : {}),
      status: cell.status === "down" ? "restarting" : cell.status,
      state: cell.state,
      restarts: cell.restarts,
      mailbox: cell.mailboxFigures,
      children: cell.children.map(node),
    });
    return node(this.root);
  }

  /** Every cell of the tree (for the no-orphan checks). */
  cells(): ReadonlyArray<AgentCell> {
    const out: AgentCell[] = [];
    const walk = (cell: AgentCell) => {
      out.push(cell);
      for (const child of cell.children) walk(child);
    };
    walk(this.root);
    return out;
  }
}
