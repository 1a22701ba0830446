/**
 * OTP-style supervision for one agent's children: strategies `one_for_one`, `one_for_all`,
 * `rest_for_one`; restart types `permanent`, `transient`, `temporary`; restart intensity
 * (`maxRestarts` within `periodMs`, else the supervisor stops its children and fails itself,
 * escalating); exponential backoff with jitter on Effect's Clock and Random.
 */
import { Effect, Either, type Fiber, Random } from "effect";
import { NotAllowed, type SpecInvalid } from "../errors.ts";
import { backoffDelay } from "./backoff.ts";
import { AgentCell } from "./cell.ts";

export class Supervisor {
  /** Children in start order. */
  children: AgentCell[] = [];
  private restartLog: number[] = [];
  private readonly pending = new Set<Fiber.RuntimeFiber<unknown, unknown>>();

  constructor(readonly cell: AgentCell) {}

  /**
   * Starts (or restarts, after this agent restarted) the spec's children, in spec order. As in OTP, a
   * restarted supervisor starts from its spec again: a child that left for good (temporary, or
   * stopped) comes back as a new agent; one waiting for a restart keeps its mailbox.
   */
  startChildren(): void {
    this.restartLog = []; // a restarted supervisor starts with a fresh restart intensity
    const waiting = new Map(
      this.children
        .filter((c) => c.status !== "stopped" && c.status !== "failed")
        .map((c) => [c.agent.name, c]),
    );
    this.children = this.cell.agent.children.map(
      (agent) => waiting.get(agent.name) ?? new AgentCell(this.cell.tree, agent, this.cell),
    );
    for (const child of this.children) {
      if (child.status === "down" || child.status === "restarting" || child.incarnation === 0) child.start();
    }
  }

  /** Ends the children's incarnations, last started first; runtime-spawned children are stopped for good. */
  haltChildren(reason: string): void {
    this.cancelPendingRestarts();
    for (const child of [...this.children].reverse()) {
      if (child.dynamic || child.agent.restart === "temporary") {
        child.stop(reason, true);
        this.remove(child);
      } else if (child.status === "running") {
        child.halt(reason, true);
      } else if (child.status === "restarting") {
        child.status = "down";
      }
    }
  }

  /** Stops every child for good, last started first. */
  stopChildren(reason: string, normal: boolean): void {
    this.cancelPendingRestarts();
    for (const child of [...this.children].reverse()) child.stop(reason, normal);
  }

  /** Takes a child out of supervision (operator stop, temporary exit). */
  remove(child: AgentCell): void {
    this.children = this.children.filter((c) => c !== child);
  }

  /** Spawns a child at runtime below this agent, within the kind rules and the tree's limits. */
  spawn(raw: unknown): Either.Either<AgentCell, SpecInvalid | NotAllowed> {
    const tree = this.cell.tree;
    const deny = (detail: string) =>
      Either.left(new NotAllowed({ reason: "limit", address: this.cell.address, detail }));
    if (this.cell.status !== "running") return deny("cannot spawn while not running");
    if (this.children.length >= tree.limits.maxChildren)
      return deny(
        `already has ${this.children.length} children (limits.maxChildren ${tree.limits.maxChildren})`,
      );
    if (tree.agentCount() >= tree.limits.maxAgents)
      return deny(
        `the tree already has ${tree.agentCount()} agents (limits.maxAgents ${tree.limits.maxAgents})`,
      );
    return Either.map(tree.compileChild(raw, this.cell.agent), (agent) => {
      const child = new AgentCell(tree, agent, this.cell, true);
      this.children.push(child);
      child.start();
      return child;
    });
  }

  /** A child's incarnation ended. Decide: leave it stopped, restart (by strategy), or escalate. */
  childExited(child: AgentCell, reason: string, normal: boolean): void {
    const tree = this.cell.tree;
    if (this.cell.status !== "running") return; // we are going down ourselves
    const restartType =
      child.dynamic && child.agent.spec.restart === undefined ? "temporary" : child.agent.restart;
    if (restartType === "temporary" || (restartType === "transient" && normal)) {
      child.stop(reason, normal, normal ? "stopped" : "crashed");
      if (restartType === "temporary") this.remove(child);
      return;
    }
    const { maxRestarts, periodMs, backoff, strategy } = this.cell.agent.supervision;
    const now = tree.now();
    this.restartLog = this.restartLog.filter((t) => now - t < periodMs);
    if (this.restartLog.length >= maxRestarts) {
      this.escalate(child, reason, maxRestarts, periodMs);
      return;
    }
    this.restartLog.push(now);
    const attempt = this.restartLog.length - 1;
    const index = this.children.indexOf(child);
    const targets =
      strategy === "one_for_one"
        ? [child]
        : strategy === "one_for_all"
          ? [...this.children]
          : this.children.slice(index);
    const why = `${child.address} ${normal ? "exited" : "failed"}: ${reason}`;
    for (const sibling of [...targets].reverse()) {
      if (sibling === child || sibling.status !== "running") continue;
      if (sibling.agent.restart === "temporary" || sibling.dynamic) {
        sibling.stop(`${strategy}: ${why}`, true);
        this.remove(sibling);
      } else {
        sibling.halt(`${strategy}: ${why}`, true);
      }
    }
    const restartable = targets.filter((t) => this.children.includes(t));
    for (const target of restartable) target.status = "restarting";
    const fiber = tree.run(
      Effect.gen(function* () {
        const jitter = yield* Random.next;
        const delayMs = backoffDelay(attempt, backoff.minMs, backoff.maxMs, jitter);
        yield* Effect.sleep(delayMs);
        return delayMs;
      }).pipe(Effect.tap((delayMs) => Effect.sync(() => this.restart(restartable, reason, delayMs)))),
    );
    this.pending.add(fiber);
    fiber.addObserver(() => this.pending.delete(fiber));
  }

  private restart(targets: ReadonlyArray<AgentCell>, reason: string, delayMs: number): void {
    if (this.cell.status !== "running") return;
    const tree = this.cell.tree;
    for (const target of targets) {
      if (target.status !== "restarting") continue;
      target.restarts++;
      tree.counters.restarts++;
      tree.events.publishSync({
        type: "agent.restarted",
        tree: tree.treeId,
        address: target.address,
        id: target.id,
        reason,
        incarnation: target.incarnation + 1,
        restarts: target.restarts,
        delayMs,
        strategy: this.cell.agent.supervision.strategy,
      });
      target.start();
    }
  }

  private escalate(child: AgentCell, reason: string, maxRestarts: number, periodMs: number): void {
    const tree = this.cell.tree;
    const why = `restart intensity exceeded: more than ${maxRestarts} restarts in ${periodMs} ms (last: ${child.address}: ${reason})`;
    tree.events.publishSync({
      type: "agent.escalated",
      tree: tree.treeId,
      address: this.cell.address,
      id: this.cell.id,
      reason: why,
    });
    child.status = "down";
    this.cell.fail(why);
  }

  private cancelPendingRestarts(): void {
    for (const fiber of this.pending) fiber.unsafeInterruptAsFork(fiber.id());
    this.pending.clear();
  }
}
