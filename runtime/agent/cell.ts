/**
 * An agent cell: one address in a tree, across incarnations. Its lifecycle is the statechart of
 * lifecycle.ts (the one place its state lives); the cell is the live side around it: the mailbox
 * (so messages survive a crash), the asker of the task in flight (so the restarted incarnation
 * processes it again), the supervisor of its children (supervisor.ts), and the events it publishes.
 *
 * Handler micro agents keep a synchronous hot path: their handler is a `fromTransition` actor (one
 * per incarnation) sent to directly while the cell is running and nothing is queued.
 *
 * An idle agent is mostly bookkeeping it has not needed yet, so a cell makes its parts on first use:
 * the statechart when its first event after `START` comes that is not part of the plain task cycle
 * (a crash, a halt, a restart plan, a reply remembered on a thread; see `restingStatus`), the
 * handler actor at its first message, the mailbox at its first queued message, the supervisor when
 * it has children. An agent that only starts, takes tasks, answers them and stops holds none of them.
 *
 * The task cycle (`running.idle` ⇄ `running.working`, on `TASK`, `STEP_DONE` and `CANCEL`) is the
 * statechart's busiest path and the one that changes nothing but the state and `current`; until the
 * statechart is made, the cell keeps those two in `restingStatus` / `restingTask` and runs the
 * `working` state's entry and exit actions (`startStep`, `stopStep`) itself, exactly where the
 * statechart would. An event off that path makes the statechart in the state the cell is in.
 */
import { Exit } from "effect";
import { type Actor, type AnyActorRef, createActor, fromTransition } from "xstate";
import type { AgentInfo } from "../agent-info.ts";
import { agentStateOf, envelopeOf } from "../durable/agent-state.ts";
import type { AgentState } from "../durable/state.ts";
import { AgentFailed, type Fault } from "../errors.ts";
import type { ModelRequest } from "../model.ts";
import type { MicroHandler } from "../plugin.ts";
import type { Routable } from "../router.ts";
import type { CompiledAgent } from "../spec/compile.ts";
import type { AskError } from "../system.ts";
import { newAgentId, reserveAgentId } from "./agent-id.ts";
import { answerTask, giveUpOnTask, stepDone } from "./answer.ts";
import { type Envelope, maxTaskCrashes, requestIdOf, settle } from "./envelope.ts";
import type { TreeHost } from "./host.ts";
import {
  type CellStatus,
  type LifecycleContext,
  type LifecycleEvent,
  type lifecycleMachine,
  makeCellMachine,
  restingSnapshot,
} from "./lifecycle.ts";
import { Mailbox } from "./mailbox.ts";
import {
  loadKeptState,
  type MicroHost,
  type MicroState,
  microHandlerLogic,
  savedHandlerState,
} from "./micro.ts";
import { runStepFiber } from "./run-step.ts";
import type { StepOutcome } from "./step-outcome.ts";
import { Supervisor } from "./supervisor.ts";
import type { ThreadMessage } from "./thread.ts";

export type { CellStatus } from "./lifecycle.ts";

const statusOf = (value: unknown): CellStatus =>
  typeof value === "string" ? (value as CellStatus) : "running"; // `running` is the only compound state

/** The cell behind each lifecycle actor: the one shared statechart starts and stops its step. */
const cellOf = new WeakMap<AnyActorRef, AgentCell>();
const cellMachine = makeCellMachine((self) => cellOf.get(self));

/**
 * The parent of a tree's lifecycle and handler actors: they share its XState system instead of each
 * making its own (a system is a few maps and a score of closures, most of an idle agent's
 * footprint). It stops a handler actor when asked (a child actor is stopped by its parent), ignores
 * what its children tell it, and reports an error as XState would for a parentless actor.
 */
type ParentEvent =
  | { readonly type: "STOP_CHILD"; readonly child: AnyActorRef }
  | { readonly type: "other"; readonly error?: unknown };
const lifecycleParent = fromTransition((state: null, event: ParentEvent, scope) => {
  if (event.type === "STOP_CHILD") scope.stopChild(event.child);
  else if ((event.type as string).startsWith("xstate.error.actor"))
    setTimeout(() => {
      throw event.error;
    });
  return state;
}, null);
const parents = new WeakMap<TreeHost, AnyActorRef>();
const parentIn = (tree: TreeHost): AnyActorRef => {
  let parent = parents.get(tree);
  if (parent === undefined) {
    parent = createActor(lifecycleParent).start();
    parents.set(tree, parent);
  }
  return parent;
};

const noChildren: ReadonlyArray<AgentCell> = [];

/** The state values a cell without a statechart can be in. */
type RestingValue = Exclude<CellStatus, "running"> | { readonly running: "idle" | "working" };

export class AgentCell implements Routable, MicroHost {
  readonly id: string;
  readonly address: string;
  /** The mailbox, made with the first message that waits in it (see `mailbox`). */
  private box: Mailbox<Envelope> | undefined;
  /** The supervisor of this agent's children, made with the first child (see `supervisor`). */
  private supervising: Supervisor | undefined;
  /**
   * The lifecycle statechart, once made; it then lives as long as the cell. Until its first event
   * after `START` other than the task cycle and `STOP`, a cell has none: it is in `restingStatus`
   * (`down`, `running.idle` or `running.working` with `restingIncarnation` and `restingTask`, or the
   * final `stopped` / `failed`), with the statechart's initial context otherwise, and makes the
   * statechart in that state when an event needs it.
   */
  private actor: Actor<typeof lifecycleMachine> | undefined;
  private restingStatus: CellStatus = "down";
  private restingIncarnation = 0;
  /** While resting in `running`: the request id of the task in `working` (the context's `current`), else null. */
  private restingTask: string | null = null;
  restarts = 0;
  /** The envelope of the task in flight (its id is the statechart's `current`). */
  private inFlight: Envelope | undefined;
  /** A handler micro's handler for the current incarnation. */
  private handler: MicroHandler | undefined;
  /** The handler state the current incarnation starts from when not the handler's initial one. */
  private handlerFrom: { readonly state: unknown } | undefined;
  /** The handler micro's actor for the current incarnation, made at its first message. */
  private handlerActor: AnyActorRef | undefined;
  /** A handler reported a crash or exit during `send`; handled once `send` has returned. */
  private handlerEnded: { readonly crash?: string; readonly exit?: string } | undefined;
  private startedOnce = false;
  private infoCache: AgentInfo | undefined;
  private requestContextCache: ModelRequest["context"] | undefined;
  private lastCrashFault: Fault = "arbor";
  private pulling = false;
  /** `agent.stopped` was published for the latest incarnation. */
  private announcedStop = false;
  /** Came back from a durable store: its tasks were restored, its spec's `input` was already given. */
  private readonly resumed: boolean;
  /** A handler micro that came back: the handler state it kept, for its first incarnation here. */
  private keptHandlerState: { readonly saved: unknown } | undefined;
  /** Interrupts the step in flight (set while the statechart is in `working`). */
  private interruptStep: (() => void) | undefined;

  constructor(
    readonly tree: TreeHost,
    readonly agent: CompiledAgent,
    readonly parent: AgentCell | undefined,
    /** Spawned at runtime (not in the spec): not restarted with its parent. */
    readonly dynamic = false,
  ) {
    this.address = agent.address;
    const restored = tree.restoring?.(agent.address);
    this.resumed = restored !== undefined;
    this.id = restored ? reserveAgentId(restored.state.lifecycle.context.id) : newAgentId();
    if (restored) {
      // An agent that comes back has its statechart from the start: its context is what it kept.
      this.actor = this.makeStatechart({ restored: restored.state.lifecycle.context });
      const { state } = restored;
      this.restarts = state.restarts;
      if (state.handler !== undefined) this.keptHandlerState = { saved: state.handler };
      // Before the task resumes, so its step finds the approval it was waiting for.
      if (state.approvals) tree.approvals.restore(state.approvals);
      // The task in flight goes first, with what its step had journaled; then the queue, in order.
      if (state.inFlight) this.mailbox.offer(envelopeOf(state.inFlight));
      for (const task of state.queued) this.mailbox.offer(envelopeOf(task));
    }
  }

  get treeId(): string {
    return this.tree.treeId;
  }

  /** Where the cell is in its life (read on the hot path). */
  get status(): CellStatus {
    return this.actor === undefined ? this.restingStatus : statusOf(this.actor.getSnapshot().value);
  }

  /** The mailbox (made here if no message has waited in it yet). */
  get mailbox(): Mailbox<Envelope> {
    this.box ??= new Mailbox(this.agent.mailbox.capacity, this.agent.mailbox.overflow);
    return this.box;
  }

  /** The mailbox's figures for `inspect`, without making one. */
  get mailboxFigures(): { readonly size: number; readonly capacity: number; readonly dropped: number } {
    return {
      size: this.box?.size ?? 0,
      capacity: this.agent.mailbox.capacity,
      dropped: this.box?.dropped ?? 0,
    };
  }

  /** The supervisor of this agent's children (made here if it had none); none for a micro agent. */
  get supervisor(): Supervisor | undefined {
    if (this.agent.kind === "micro") return undefined;
    this.supervising ??= new Supervisor(this);
    return this.supervising;
  }

  /** The children, in start order. */
  get children(): ReadonlyArray<AgentCell> {
    return this.supervising?.children ?? noChildren;
  }

  /**
   * Makes and starts the statechart: in `down` with what an earlier life kept (an agent that came
   * back), or from a resting state's snapshot.
   */
  private makeStatechart(
    from:
      | { readonly restored: Pick<LifecycleContext, "incarnation" | "lastCrash" | "threads"> }
      | { readonly snapshot: ReturnType<typeof restingSnapshot> },
  ): Actor<typeof lifecycleMachine> {
    const actor = createActor(cellMachine, {
      parent: parentIn(this.tree),
      // With a snapshot the input is unused: the snapshot says all.
      input: {
        address: this.address,
        id: this.id,
        history: this.agent.history ?? null,
        ...("restored" in from ? { restored: from.restored } : {}),
      },
      ...("snapshot" in from ? { snapshot: from.snapshot } : {}),
    });
    cellOf.set(actor, this);
    actor.start();
    return actor;
  }

  /**
   * The statechart, made in the resting state if the cell had none yet. It is made from that state's
   * snapshot, not started again: no entry action runs twice, and no context function runs inside
   * whichever actor's action asked for it (XState warns about that).
   */
  private get lifecycle(): Actor<typeof lifecycleMachine> {
    this.actor ??= this.makeStatechart({ snapshot: restingSnapshot(this.restingValue, this.context) });
    return this.actor;
  }

  /** The statechart's state value while resting. */
  private get restingValue(): RestingValue {
    if (this.restingStatus !== "running") return this.restingStatus;
    return { running: this.restingTask === null ? "idle" : "working" };
  }

  /** The statechart's context, read without making one. */
  private get context(): LifecycleContext {
    if (this.actor !== undefined) return this.actor.getSnapshot().context;
    return {
      address: this.address,
      id: this.id,
      incarnation: this.restingIncarnation,
      current: this.restingTask,
      lastCrash: "",
      history: this.agent.history ?? null,
      threads: {},
    };
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

  /** Who makes a model request, as the request says (the same object for every request of this agent). */
  get requestContext(): ModelRequest["context"] {
    this.requestContextCache ??= {
      tree: this.treeId,
      address: this.address,
      agentId: this.id,
      ...(this.tree.tenant !== undefined ? { tenant: this.tree.tenant } : {}),
    };
    return this.requestContextCache;
  }

  get incarnation(): number {
    return this.actor === undefined ? this.restingIncarnation : this.context.incarnation;
  }

  /** The state for `inspect`: `idle` or `working` while running, else the status. */
  get state(): string {
    const value = this.actor === undefined ? this.restingValue : this.actor.getSnapshot().value;
    return typeof value === "string" ? value : String((value as { running: string }).running);
  }

  /** The remembered messages of `thread`, oldest first (empty when the agent keeps no history). */
  history(thread: string): ReadonlyArray<ThreadMessage> {
    return this.context.threads[thread] ?? [];
  }

  /**
   * The agent's state as plain data (what a durable tree writes): XState's persisted snapshot of its
   * statechart (state, incarnation, thread histories), its restart count, the task in flight and the
   * tasks waiting in its mailbox, in order. Gotcha: askers' callbacks are not data and are not in it.
   */
  durableState(): AgentState {
    const queued: Envelope[] = [];
    this.box?.find((envelope) => {
      queued.push(envelope);
      return false;
    });
    return agentStateOf({
      address: this.address,
      lifecycle: this.actor?.getPersistedSnapshot() ?? restingSnapshot(this.restingValue, this.context),
      restarts: this.restarts,
      inFlight: this.inFlight,
      queued,
      approvals: this.tree.approvals.entries(),
      ...(this.dynamic && this.parent
        ? { dynamic: { parent: this.parent.address, spec: this.agent.spec } }
        : {}),
      ...(this.handler !== undefined ? { handler: { saved: this.savedHandler(this.handler) } } : {}),
    });
  }

  /** The task queued or in flight here that was asked with `key`, if any. */
  taskWithKey(key: string): Envelope | undefined {
    if (this.inFlight?.idempotencyKey === key && !this.inFlight.cancelled) return this.inFlight;
    return this.box?.find((e) => e.idempotencyKey === key && !e.cancelled);
  }

  /** What the handler's state is now, as the data a durable tree keeps. */
  private savedHandler(handler: MicroHandler): unknown {
    const user = this.handlerActor
      ? (this.handlerActor.getSnapshot().context as MicroState).user
      : this.handlerFrom
        ? this.handlerFrom.state
        : handler.initial();
    return savedHandlerState(handler, user);
  }

  /**
   * Sends `event` to the statechart. A resting cell takes its first `START`, a `STOP` and the task
   * cycle without one (see `rest`); any other event makes the statechart first.
   */
  private send(event: LifecycleEvent): void {
    if (this.actor === undefined && this.rest(event)) return;
    this.lifecycle.send(event);
  }

  /**
   * Takes `event` as the statechart would, without one, when it only moves the state and `current`:
   * the first `START`; `TASK` in `idle` (entering `working` starts the step); `STEP_DONE` with
   * nothing to remember and `CANCEL` in `working` (leaving it stops the step); `STOP` (leaving
   * `working` first, if there). False for any other event: the statechart must take it.
   */
  private rest(event: LifecycleEvent): boolean {
    const status = this.restingStatus;
    switch (event.type) {
      case "START":
        if (status !== "down") return false;
        this.restingStatus = "running";
        this.restingIncarnation++;
        return true;
      case "TASK":
        if (status !== "running" || this.restingTask !== null) return false;
        this.restingTask = event.requestId;
        this.startStep(event.requestId);
        return true;
      case "STEP_DONE":
      case "CANCEL":
        if (status !== "running" || this.restingTask === null) return false;
        if (event.type === "STEP_DONE" && event.exchange !== undefined && this.agent.history !== undefined)
          return false; // the statechart remembers the exchange
        this.restingTask = null;
        this.stopStep();
        return true;
      case "STOP":
        if (this.restingTask !== null) {
          this.restingTask = null;
          this.stopStep();
        }
        this.restingStatus = event.normal ? "stopped" : "failed";
        return true;
      default:
        return false;
    }
  }

  /** Starts a new incarnation, then the children in spec order. */
  start(): void {
    this.announcedStop = false;
    const retry = this.inFlight;
    this.inFlight = undefined;
    this.send({ type: "START" });
    if (!this.startedOnce) {
      this.tree.router.register(this);
      this.tree.agentStarted();
    }
    const handlerName = this.agent.spec.handler;
    if (handlerName !== undefined) {
      const handler = this.tree.handler(handlerName)!;
      // A handler micro that came back starts from the state it kept (its first incarnation only).
      const from = loadKeptState(handler, this.keptHandlerState, (reason) =>
        this.tree.events.publishSync({
          type: "tree.durable_failed",
          tree: this.treeId,
          address: this.address,
          id: this.id,
          reason: `${this.address}: ${reason}`,
        }),
      );
      this.keptHandlerState = undefined;
      this.handler = handler;
      this.handlerFrom = from;
    }
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
      if (this.agent.spec.input !== undefined && !this.resumed)
        this.mailbox.offer({ kind: "input", input: this.agent.spec.input });
    }
    this.tree.durable?.touch(this);
    (this.agent.children.length > 0 ? this.supervisor : this.supervising)?.startChildren();
    if (retry) this.retry(retry);
    this.pull();
  }

  /** The task that was in flight when the last incarnation ended: try it again, or give up on it. */
  private retry(envelope: Envelope): void {
    envelope.crashes = (envelope.crashes ?? 0) + 1;
    if (envelope.cancelled) return;
    if (envelope.crashes < maxTaskCrashes) {
      this.mailbox.unshift(envelope);
      return;
    }
    giveUpOnTask(this, envelope, this.context.lastCrash, this.lastCrashFault);
  }

  /** Router entry point. Handler micros process synchronously when nothing is queued. */
  deliver(envelope: Envelope): "ok" | "full" | "gone" {
    if (this.status === "stopped" || this.status === "failed") return "gone";
    if (this.answersInline()) {
      this.handlerNow().send({ type: "MSG", envelope });
      this.tree.durable?.touch(this); // the handler's state moved
      if (this.handlerEnded !== undefined) this.afterHandler(envelope);
      return "ok";
    }
    if (this.mailbox.offer(envelope) === "full") return "full";
    this.tree.durable?.touch(this);
    this.pull();
    return "ok";
  }

  answersInline(): boolean {
    return this.handler !== undefined && this.status === "running" && (this.box?.size ?? 0) === 0;
  }

  /** The handler actor of this incarnation, made at its first message. */
  private handlerNow(): AnyActorRef {
    if (this.handlerActor !== undefined) return this.handlerActor;
    const from = this.handlerFrom;
    this.handlerFrom = undefined;
    this.handlerActor = createActor(microHandlerLogic, {
      parent: parentIn(this.tree),
      input: { host: this, handler: this.handler!, ...(from ? { from } : {}) },
    });
    this.handlerActor.start();
    return this.handlerActor;
  }

  /**
   * The asker withdrew `envelope` (its deadline passed, it called `agent.cancel`, or it
   * disconnected): dropped if still queued; if in flight, its step is interrupted — which aborts
   * the provider request — and the agent takes its next task at once.
   */
  withdraw(envelope: Envelope): void {
    envelope.cancelled = true;
    this.tree.durable?.touch(this);
    if (this.inFlight === envelope) {
      this.inFlight = undefined;
      this.tree.events.publishSync({
        type: "agent.cancelled",
        tree: this.treeId,
        address: this.address,
        id: this.id,
        requestId: requestIdOf(envelope),
      });
      this.send({ type: "CANCEL" });
      this.pull();
    } else {
      this.box?.remove(envelope);
    }
  }

  /**
   * Withdraws the request `requestId` if it is queued here or in flight, after `answer` has told its
   * asker why. Returns whether it was found.
   */
  cancel(requestId: string, answer: (envelope: Envelope) => void): boolean {
    const found =
      this.inFlight?.requestId === requestId
        ? this.inFlight
        : this.box?.find((e) => e.requestId === requestId && !e.cancelled);
    if (found === undefined) return false;
    answer(found);
    this.withdraw(found);
    return true;
  }

  /** Hands the next queued task to the agent when it is free. */
  pull(): void {
    if (this.pulling) return;
    this.pulling = true;
    try {
      while (this.status === "running" && this.inFlight === undefined && this.pullOne()) {}
    } finally {
      this.pulling = false;
    }
  }

  /** Takes one task; false when there was nothing to take (or the agent went busy or down). */
  private pullOne(): boolean {
    let envelope = this.box?.take();
    while (envelope?.cancelled) envelope = this.box?.take();
    if (!envelope) return false;
    if (this.handler !== undefined) {
      this.handlerNow().send({ type: "MSG", envelope });
      this.tree.durable?.touch(this);
      if (this.handlerEnded !== undefined) this.afterHandler(envelope);
      return true;
    }
    this.inFlight = envelope;
    this.tree.durable?.touch(this);
    const requestId = requestIdOf(envelope);
    if (this.tree.events.wants("agent.task"))
      this.tree.events.publishSync({
        type: "agent.task",
        tree: this.treeId,
        address: this.address,
        id: this.id,
        requestId,
        input: envelope.input,
      });
    // A listener may have withdrawn it while the event was published.
    if (this.inFlight === envelope) this.send({ type: "TASK", requestId });
    return true;
  }

  // --- The step (started and stopped by the statechart as it enters and leaves `working`) ---------

  /** Starts the step of the task in flight (the statechart entered `working`). */
  startStep(requestId: string): void {
    const envelope = this.inFlight;
    if (envelope === undefined || envelope.requestId !== requestId) return;
    const interrupt = runStepFiber(this, envelope, (outcome) => this.stepEnded(envelope, outcome));
    // A step that answered at once has been reported already: nothing is left to interrupt, and
    // holding its interrupter would keep the finished fiber alive until the next task.
    if (this.inFlight === envelope) this.interruptStep = interrupt;
  }

  /** Interrupts the step in flight, if any (the statechart left `working`). */
  stopStep(): void {
    const interrupt = this.interruptStep;
    this.interruptStep = undefined;
    interrupt?.();
  }

  private stepEnded(envelope: Envelope, outcome: StepOutcome): void {
    if (this.inFlight !== envelope) return; // withdrawn, or the incarnation ended meanwhile
    if (outcome._tag === "Crashed") {
      this.lastCrashFault = outcome.fault;
      this.fail(outcome.reason);
      return;
    }
    this.inFlight = undefined;
    this.send(stepDone(envelope, outcome));
    answerTask(this, envelope, outcome);
    this.tree.durable?.touch(this); // the finished task (and its journal) leaves the stored state
    if (outcome._tag === "StopTree") return;
    if (outcome._tag === "Replied" && outcome.exit !== undefined) this.exitNormally(outcome.exit);
    else this.pull();
  }

  // --- MicroHost (called inside the handler actor's transition) ------------------------------------

  handlerCrashed(_envelope: Envelope, reason: string): void {
    this.handlerEnded = { crash: reason };
  }

  handlerExited(reason: string): void {
    this.handlerEnded = { exit: reason };
  }

  /** A handler crashed or asked to exit while handling `envelope`; its `send` has returned. */
  private afterHandler(envelope: Envelope): void {
    const ended = this.handlerEnded!;
    this.handlerEnded = undefined;
    if (ended.crash !== undefined) {
      this.inFlight = envelope; // the next incarnation tries it again
      this.lastCrashFault = "user"; // the handler is the user's code
      this.fail(ended.crash);
    } else if (ended.exit !== undefined) {
      this.exitNormally(ended.exit);
    }
  }

  // --- Lifecycle -----------------------------------------------------------------------------------

  /** Abnormal exit of this incarnation (crash, kill, tripwire halt, escalation): the supervisor decides. */
  fail(reason: string): void {
    if (this.status !== "running") return;
    this.tree.counters.errors++;
    this.tree.events.publishSync({
      type: "agent.failed",
      tree: this.treeId,
      address: this.address,
      id: this.id,
      reason,
      incarnation: this.incarnation,
    });
    this.endIncarnation(`${this.address} failed`, false, { type: "CRASH", reason });
    this.exited(reason, false);
  }

  /** Operator kill: an abnormal exit the supervisor handles as a crash. */
  kill(reason: string): void {
    this.lastCrashFault = "user";
    this.fail(reason);
  }

  /** Normal exit requested by the agent's own logic. */
  private exitNormally(reason: string): void {
    if (this.status !== "running") return;
    this.endIncarnation(reason, true, { type: "HALT" });
    this.exited(reason, true);
  }

  private exited(reason: string, normal: boolean): void {
    if (this.parent?.supervising) this.parent.supervising.childExited(this, reason, normal);
    else if (!this.parent) this.tree.rootExited(reason, normal);
  }

  /**
   * Ends the current incarnation: children first, in reverse start order, then this agent's step
   * (interrupted as the statechart leaves `running`). Mailbox and in-flight task are kept for a restart.
   */
  halt(reason: string, publish: boolean, normal = true): void {
    this.endIncarnation(reason, publish, { type: "HALT" }, normal);
  }

  private endIncarnation(reason: string, publish: boolean, event: LifecycleEvent, normal = true): void {
    const wasRunning = this.status === "running";
    this.supervising?.haltChildren(`shutdown: ${reason}`);
    if (this.status === "running" || this.status === "restarting") this.send(event);
    const handler = this.handlerActor;
    this.handlerActor = undefined;
    this.handler = undefined;
    this.handlerFrom = undefined;
    if (handler !== undefined) parentIn(this.tree).send({ type: "STOP_CHILD", child: handler });
    if (wasRunning && publish) this.publishStopped(reason, normal);
  }

  /** The supervisor will restart this agent after a backoff. */
  planRestart(): void {
    if (this.status === "down") this.send({ type: "PLAN_RESTART" });
  }

  /** A planned restart was dropped (the supervisor itself is going down). */
  unplanRestart(): void {
    if (this.status === "restarting") this.send({ type: "HALT" });
  }

  /** Stops for good: subtree first, then fails every pending request and leaves the router. */
  stop(
    reason: string,
    normal: boolean,
    failure: AgentFailed["reason"] = normal ? "stopped" : "gave_up",
  ): void {
    if (this.status === "stopped" || this.status === "failed") return;
    this.supervising?.stopChildren(reason, normal);
    this.halt(reason, true, normal);
    this.send({ type: "STOP", normal });
    const error: AskError = new AgentFailed({ reason: failure, address: this.address, detail: reason });
    const queued = this.box?.drain() ?? [];
    const pending = this.inFlight ? [this.inFlight, ...queued] : queued;
    this.inFlight = undefined;
    for (const envelope of pending) settle(envelope, Exit.fail(error));
    this.box?.wakeAll();
    if (this.dynamic) this.tree.durable?.remove(this);
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

  /** True while an incarnation of this cell is alive (for the no-orphan checks). */
  get actorAlive(): boolean {
    return this.status === "running" || this.handlerActor?.getSnapshot().status === "active";
  }
}
