/**
 * OTP-style supervision for one agent's children: strategies `one_for_one`, `one_for_all`,
 * `rest_for_one`; restart types `permanent`, `transient`, `temporary`; restart intensity
 * (`maxRestarts` within `periodMs`, else the supervisor stops its children and fails itself,
 * escalating); exponential backoff with jitter on Effect's Clock and Random. What to do is decided
 * by the pure functions of supervision-decision.ts; this class carries their actions out.
 */
import { Effect, Either, type Fiber } from "effect";
import { NotAllowed, type SpecInvalid } from "../errors.ts";
import { AgentCell } from "./cell.ts";
import {
  type ChildView,
  type Decision,
  decideExit,
  decideReset,
  decideRestartDue,
  initialSupervisorState,
  type SupervisorState,
} from "./supervision-decision.ts";

export class Supervisor {
  /** Children in start order. */
  children: AgentCell[] = [];
  /** The decision's state: restart log and pending restarts (plain data). */
  state: SupervisorState = initialSupervisorState;
  /** The timers of pending restarts, by plan (made with the first one: most agents never restart a child). */
  private pending: Map<number, Fiber.RuntimeFiber<unknown, unknown>> | undefined;

  constructor(readonly cell: AgentCell) {}

  /**
   * Starts (or restarts, after this agent restarted) the spec's children, in spec order. As in OTP, a
   * restarted supervisor starts from its spec again: a child that left for good (temporary, or
   * stopped) comes back as a new agent; one waiting for a restart keeps its mailbox.
   */
  startChildren(): void {
    this.cancelPendingRestarts(); // a restarted supervisor starts with a fresh restart intensity
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
      } else {
        child.unplanRestart();
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

  /** A child's incarnation ended: the pure decision says what follows; this carries it out. */
  childExited(child: AgentCell, reason: string, normal: boolean): void {
    const tree = this.cell.tree;
    if (this.cell.status !== "running") return; // we are going down ourselves
    const random01 = tree.random01();
    const decision = decideExit(
      this.state,
      this.cell.agent.supervision,
      this.children.map((c) => this.viewOf(c)),
      { key: child.address, reason, normal },
      tree.now(),
      random01,
    );
    this.apply(decision, reason);
  }

  private viewOf(child: AgentCell): ChildView {
    return {
      key: child.address,
      restart: child.dynamic && child.agent.spec.restart === undefined ? "temporary" : child.agent.restart,
      running: child.status === "running",
    };
  }

  private apply(decision: Decision, reason: string): void {
    this.state = decision.state;
    const tree = this.cell.tree;
    const byKey = (key: string) => this.children.find((c) => c.address === key);
    for (const action of decision.actions) {
      switch (action._tag) {
        case "Stop": {
          const target = byKey(action.key);
          if (!target) break;
          target.stop(action.reason, action.normal, action.normal ? "stopped" : "crashed");
          if (action.remove) this.remove(target);
          break;
        }
        case "Halt":
          byKey(action.key)?.halt(action.reason, true);
          break;
        case "MarkRestarting":
          for (const key of action.keys) byKey(key)?.planRestart();
          break;
        case "CancelRestart": {
          const fiber = this.pending?.get(action.plan);
          this.pending?.delete(action.plan);
          if (fiber) fiber.unsafeInterruptAsFork(fiber.id());
          break;
        }
        case "ScheduleRestart": {
          const { plan, delayMs } = action;
          const fiber = tree.run(
            Effect.sleep(delayMs).pipe(
              Effect.zipRight(
                Effect.sync(() => {
                  this.pending?.delete(plan);
                  if (this.cell.status === "running") this.apply(decideRestartDue(this.state, plan), reason);
                }),
              ),
            ),
          );
          this.pending ??= new Map();
          this.pending.set(plan, fiber);
          break;
        }
        case "Start": {
          const target = byKey(action.key);
          if (target?.status !== "restarting") break;
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
            delayMs: action.delayMs,
            strategy: this.cell.agent.supervision.strategy,
          });
          target.start();
          break;
        }
        case "Escalate": {
          tree.events.publishSync({
            type: "agent.escalated",
            tree: tree.treeId,
            address: this.cell.address,
            id: this.cell.id,
            reason: action.reason,
          });
          this.cell.fail(action.reason);
          break;
        }
      }
    }
  }

  private cancelPendingRestarts(): void {
    const reset = decideReset(this.state);
    this.state = reset.state;
    if (this.pending === undefined) return;
    for (const fiber of this.pending.values()) fiber.unsafeInterruptAsFork(fiber.id());
    this.pending.clear();
  }
}
