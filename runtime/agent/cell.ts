/**
 * An agent cell: one address in a tree, across incarnations. The cell owns the mailbox (so
 * messages survive a crash), the in-flight task (so the restarted incarnation processes it again),
 * and, for agents with children, the supervisor (see supervisor.ts). Each incarnation is an XState
 * actor: a statechart for parents and children, light logic for micro agents.
 */
import { Exit } from "effect";
import { type AnyActorRef, createActor } from "xstate";
import type { AgentInfo } from "../agent-info.ts";
import { AgentFailed } from "../errors.ts";
import type { Routable } from "../router.ts";
import type { CompiledAgent } from "../spec/compile.ts";
import type { AskError } from "../system.ts";
import { type Envelope, maxTaskCrashes, requestIdOf, settle } from "./envelope.ts";
import type { TreeHost } from "./host.ts";
import { agentMachine, type MachineHost } from "./machine.ts";
import { Mailbox } from "./mailbox.ts";
import { type MicroHost, type MicroModelHost, microHandlerLogic, microModelLogic } from "./micro.ts";
import { runStepFiber } from "./run-step.ts";
import type { StepOutcome } from "./step-outcome.ts";
import { Supervisor } from "./supervisor.ts";

let nextId = 0;

/** Where a cell is in its life. `down` = between incarnations (crashed, waiting for its supervisor). */
export type CellStatus = "running" | "down" | "restarting" | "stopped" | "failed";

export class AgentCell implements Routable, MachineHost, MicroHost, MicroModelHost {
  readonly id = `ag_${(nextId++).toString(36)}`;
  readonly address: string;
  readonly treeId: string;
  readonly mailbox: Mailbox<Envelope>;
  readonly supervisor: Supervisor | undefined;
  status: CellStatus = "down";
  incarnation = 0;
  restarts = 0;
  /** The task the current incarnation is processing (re-processed after a crash). */
  current: Envelope | undefined;
  private actor: AnyActorRef | undefined;
  private busy = false;
  private startedOnce = false;
  private infoCache: AgentInfo | undefined;
  private lastCrash = "";
  private pulling = false;
  /** `agent.stopped` was published for the latest incarnation. */
  private announcedStop = false;

  constructor(
    readonly tree: TreeHost,
    readonly agent: CompiledAgent,
    readonly parent: AgentCell | undefined,
    /** Spawned at runtime (not in the spec): not restarted with its parent. */
    readonly dynamic = false,
  ) {
    this.address = agent.address;
    this.treeId = tree.treeId;
    this.mailbox = new Mailbox(agent.mailbox.capacity, agent.mailbox.overflow);
    this.supervisor = agent.kind === "micro" ? undefined : new Supervisor(this);
  }

  /** What plugins may know about this agent. */
  get info(): AgentInfo {
    this.infoCache ??= {
      tree: this.treeId,
      treeId: this.treeId,
      treeName: this.tree.name,
      address: this.address,
      id: this.id,
      name: this.agent.name,
      kind: this.agent.kind,
      ...(this.agent.spec.role !== undefined ? { role: this.agent.spec.role } : {}),
      depth: this.agent.depth,
      ...(this.tree.tenant !== undefined ? { tenant: this.tree.tenant } : {}),
      settings: this.agent.settings,
    };
    return this.infoCache;
  }

  /** The actor's state for `inspect`: `idle`, `working`, `crashed`, or `down` between incarnations. */
  get state(): string {
    if (!this.actor || this.status !== "running") return this.status;
    if (this.agent.kind !== "micro") return String(this.actor.getSnapshot().value);
    return this.busy ? "working" : "idle";
  }

  /** Starts a new incarnation, then the children in spec order. */
  start(): void {
    this.incarnation++;
    this.announcedStop = false;
    this.status = "running";
    if (!this.startedOnce) {
      this.tree.router.register(this);
      this.tree.agentStarted();
    }
    const handlerName = this.agent.spec.handler;
    if (handlerName !== undefined) {
      const handler = this.tree.handler(handlerName)!;
      this.actor = createActor(microHandlerLogic, { input: { host: this, handler } });
    } else if (this.agent.kind === "micro") {
      this.actor = createActor(microModelLogic, { input: { host: this } });
    } else {
      this.actor = createActor(agentMachine, { input: { host: this } });
    }
    this.actor.start();
    if (!this.startedOnce) {
      this.startedOnce = true;
      this.tree.events.publishSync({
        type: "agent.spawned",
        tree: this.treeId,
        address: this.address,
        id: this.id,
        kind: this.agent.kind,
        ...(this.agent.spec.role !== undefined ? { role: this.agent.spec.role } : {}),
        ...(this.parent ? { parent: this.parent.address } : {}),
        incarnation: this.incarnation,
      });
      if (this.agent.spec.input !== undefined)
        this.mailbox.offer({ kind: "input", input: this.agent.spec.input });
    }
    this.supervisor?.startChildren();
    if (this.current) {
      const retry = this.current;
      this.current = undefined;
      retry.crashes = (retry.crashes ?? 0) + 1;
      if (retry.crashes >= maxTaskCrashes) {
        const detail = `the task crashed the agent ${retry.crashes} times (last: ${this.lastCrash}); it is not tried again`;
        settle(retry, Exit.fail(new AgentFailed({ reason: "crashed", address: this.address, detail })));
        this.tree.events.publishSync({
          type: "agent.request_failed",
          tree: this.treeId,
          address: this.address,
          id: this.id,
          requestId: requestIdOf(retry),
          reason: detail,
        });
      } else if (!retry.cancelled) this.mailbox.unshift(retry);
    }
    this.pull();
  }

  /** Router entry point. Handler micros process synchronously when nothing is queued. */
  deliver(envelope: Envelope): "ok" | "full" | "gone" {
    if (this.status === "stopped" || this.status === "failed") return "gone";
    if (this.answersInline()) {
      this.actor!.send({ type: "MSG", envelope });
      return "ok";
    }
    if (this.mailbox.offer(envelope) === "full") return "full";
    this.pull();
    return "ok";
  }

  answersInline(): boolean {
    return this.status === "running" && this.mailbox.size === 0 && this.agent.spec.handler !== undefined;
  }

  /** Hands the next queued task to the incarnation when it is free. */
  pull(): void {
    if (this.status !== "running" || this.busy || this.pulling || !this.actor) return;
    this.pulling = true;
    try {
      this.pullOne();
    } finally {
      this.pulling = false;
    }
  }

  private pullOne(): void {
    if (!this.actor) return;
    let envelope = this.mailbox.take();
    while (envelope?.cancelled) envelope = this.mailbox.take();
    if (!envelope) return;
    if (this.agent.spec.handler !== undefined) {
      this.actor.send({ type: "MSG", envelope });
      if (this.status === "running") queueMicrotask(() => this.pull());
      return;
    }
    this.busy = true;
    this.current = envelope;
    this.tree.events.publishSync({
      type: "agent.task",
      tree: this.treeId,
      address: this.address,
      id: this.id,
      requestId: requestIdOf(envelope),
      input: envelope.input,
    });
    this.actor.send(this.agent.kind === "micro" ? { type: "MSG", envelope } : { type: "TASK", envelope });
  }

  // --- MachineHost / MicroModelHost -------------------------------------------------------------

  runStep(envelope: Envelope, report: (outcome: StepOutcome) => void): () => void {
    return runStepFiber(this, envelope, report);
  }

  idle(): void {
    queueMicrotask(() => this.pull());
  }

  finish(envelope: Envelope, outcome: StepOutcome): void {
    this.busy = false;
    this.current = undefined;
    const requestId = requestIdOf(envelope);
    const base = { tree: this.treeId, address: this.address, id: this.id, requestId };
    if (outcome._tag === "Replied") {
      settle(envelope, Exit.succeed(outcome.reply));
      this.tree.events.publishSync({ ...base, type: "agent.replied", output: outcome.reply.output });
      if (outcome.exit !== undefined) queueMicrotask(() => this.exitNormally(outcome.exit!));
    } else if (outcome._tag === "Failed") {
      this.tree.counters.errors++;
      settle(envelope, Exit.fail(outcome.error));
      this.tree.events.publishSync({ ...base, type: "agent.request_failed", reason: outcome.error.message });
    } else if (outcome._tag === "StopTree") {
      settle(envelope, Exit.fail(outcome.error));
      this.tree.events.publishSync({ ...base, type: "agent.request_failed", reason: outcome.error.message });
      this.tree.stopTree(outcome.error.message);
    }
  }

  crashed(reason: string): void {
    queueMicrotask(() => this.fail(reason));
  }

  stepEnded(envelope: Envelope, outcome: StepOutcome): void {
    if (outcome._tag === "Crashed") {
      this.fail(outcome.reason);
      return;
    }
    this.finish(envelope, outcome);
    this.pull();
  }

  // --- MicroHost ----------------------------------------------------------------------------------

  handlerCrashed(envelope: Envelope, reason: string): void {
    this.current = envelope;
    this.status = "down"; // queue further messages until the supervisor decides
    queueMicrotask(() => this.fail(reason, true));
  }

  handlerExited(reason: string): void {
    this.status = "down";
    queueMicrotask(() => this.exitNormally(reason, true));
  }

  // --- Lifecycle -----------------------------------------------------------------------------------

  /** Abnormal exit of this incarnation (crash, kill, tripwire halt, escalation): the supervisor decides. */
  fail(reason: string, force = false): void {
    if (this.status !== "running" && !(force && this.status === "down")) return;
    this.tree.counters.errors++;
    this.lastCrash = reason;
    this.tree.events.publishSync({
      type: "agent.failed",
      tree: this.treeId,
      address: this.address,
      id: this.id,
      reason,
      incarnation: this.incarnation,
    });
    this.halt(`${this.address} failed`, false);
    this.exited(reason, false);
  }

  /** Operator kill: an abnormal exit the supervisor handles as a crash. */
  kill(reason: string): void {
    if (this.status !== "running") return;
    if (this.agent.kind !== "micro") this.actor?.send({ type: "KILL", reason });
    else this.fail(reason);
  }

  /** Normal exit requested by the agent's own logic. */
  private exitNormally(reason: string, force = false): void {
    if (this.status !== "running" && !(force && this.status === "down")) return;
    this.halt(reason, true);
    this.exited(reason, true);
  }

  private exited(reason: string, normal: boolean): void {
    if (this.parent?.supervisor) this.parent.supervisor.childExited(this, reason, normal);
    else if (!this.parent) this.tree.rootExited(reason, normal);
  }

  /**
   * Ends the current incarnation: children first, in reverse start order, then this actor (which
   * interrupts its running step). Mailbox and in-flight task are kept for a restart.
   */
  halt(reason: string, publish: boolean, normal = true): void {
    this.status = "down";
    this.supervisor?.haltChildren(`shutdown: ${reason}`);
    const actor = this.actor;
    this.actor = undefined;
    this.busy = false;
    actor?.stop();
    if (actor && publish) this.publishStopped(reason, normal);
  }

  /** Stops for good: subtree first, then fails every pending request and leaves the router. */
  stop(
    reason: string,
    normal: boolean,
    failure: AgentFailed["reason"] = normal ? "stopped" : "gave_up",
  ): void {
    if (this.status === "stopped" || this.status === "failed") return;
    this.supervisor?.stopChildren(reason, normal);
    this.halt(reason, true, normal);
    this.status = normal ? "stopped" : "failed";
    const error: AskError = new AgentFailed({ reason: failure, address: this.address, detail: reason });
    const pending = this.current ? [this.current, ...this.mailbox.drain()] : this.mailbox.drain();
    this.current = undefined;
    for (const envelope of pending) settle(envelope, Exit.fail(error));
    this.mailbox.wakeAll();
    this.tree.router.unregister(this);
    this.tree.agentStopped();
    if (!this.announcedStop) this.publishStopped(reason, normal); // its last incarnation crashed: say it is gone for good
  }

  publishStopped(reason: string, normal: boolean): void {
    this.announcedStop = true;
    this.tree.events.publishSync({
      type: "agent.stopped",
      tree: this.treeId,
      address: this.address,
      id: this.id,
      reason,
      normal,
    });
  }

  /** True while an actor of this cell is alive (for the no-orphan checks). */
  get actorAlive(): boolean {
    return this.actor !== undefined && this.actor.getSnapshot().status === "active";
  }
}
