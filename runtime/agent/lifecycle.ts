/**
 * The lifecycle of one agent cell as an XState v5 statechart over plain, serializable data.
 *
 *   down ──START──▶ running (idle ⇄ working) ──CRASH / EXIT / HALT──▶ down ──PLAN_RESTART──▶ restarting
 *     └───────────────────────────── STOP ──────────────────────────────▶ stopped | failed (final)
 *
 * Entering `running` begins a new incarnation. Entering `working` starts the step for the task
 * `current` (the action `startStep`); leaving `working` for any reason (the step ended, the asker
 * cancelled, a crash, a halt, a stop) runs `stopStep`, which interrupts the step's Effect fiber and
 * so aborts its provider request. The step is the cell's fiber, not an actor invoked per step: an
 * invoked actor cost more than the rest of a zero-latency step's bookkeeping. The live side — the
 * mailbox, the asker's callbacks, the tree — stays in the cell (cell.ts), which implements both
 * actions with `lifecycleMachine.provide` once (`makeCellMachine`); the context holds ids and
 * counts only, so `getPersistedSnapshot()` is the agent's state as data.
 */
import { type AnyActorRef, assign, type Snapshot, setup } from "xstate";
import { appendExchange, type HistoryLimits, type ThreadMessage } from "./thread.ts";

/** The agent's state as data. */
export interface LifecycleContext {
  readonly address: string;
  readonly id: string;
  /** Incarnations begun so far (1 after the first start). */
  readonly incarnation: number;
  /** Request id of the task in flight; kept across a crash so the next incarnation retries it. */
  readonly current: string | null;
  /** Why the last incarnation crashed ("" if none did). */
  readonly lastCrash: string;
  /** Bounds of each thread's history; null = the agent keeps no history. */
  readonly history: HistoryLimits | null;
  /** The remembered exchanges, by thread id. */
  readonly threads: Readonly<Record<string, ReadonlyArray<ThreadMessage>>>;
}

export type LifecycleEvent =
  /** Begin a new incarnation. */
  | { readonly type: "START" }
  /** The cell handed the task `requestId` to the agent: its step starts. */
  | { readonly type: "TASK"; readonly requestId: string }
  /** The step replied or failed; the cell has answered the asker. A reply on a thread is remembered. */
  | {
      readonly type: "STEP_DONE";
      readonly exchange?: { readonly thread: string; readonly messages: ReadonlyArray<ThreadMessage> };
    }
  /** The asker withdrew (deadline, `agent.cancel`, disconnect): the step is interrupted. */
  | { readonly type: "CANCEL" }
  /** Abnormal end of this incarnation. */
  | { readonly type: "CRASH"; readonly reason: string }
  /** The incarnation ends without a crash (normal exit, or halted by its supervisor). */
  | { readonly type: "HALT" }
  /** The supervisor decided to restart this agent after a backoff. */
  | { readonly type: "PLAN_RESTART" }
  /** Leave for good. */
  | { readonly type: "STOP"; readonly normal: boolean };

/** What the statechart asks of the live side: start the step of task `requestId`, stop the step in flight. */
export interface StepDriver {
  readonly startStep: (requestId: string) => void;
  readonly stopStep: () => void;
}

/** The statechart. Its `startStep` / `stopStep` actions are placeholders `makeCellMachine` replaces. */
export const lifecycleMachine = setup({
  types: {} as {
    context: LifecycleContext;
    input: {
      readonly address: string;
      readonly id: string;
      readonly history: HistoryLimits | null;
      /** A durable agent coming back after a restart of the runtime: where its last life left off. */
      readonly restored?: Pick<LifecycleContext, "incarnation" | "lastCrash" | "threads">;
    };
    events: LifecycleEvent;
  },
  actions: {
    startStep: (_, _params: { readonly requestId: string }) => undefined,
    stopStep: () => undefined,
  },
}).createMachine({
  id: "cell",
  context: ({ input }) => ({
    address: input.address,
    id: input.id,
    incarnation: input.restored?.incarnation ?? 0,
    current: null,
    lastCrash: input.restored?.lastCrash ?? "",
    history: input.history,
    threads: input.restored?.threads ?? {},
  }),
  initial: "down",
  states: {
    down: {
      on: {
        START: "running",
        PLAN_RESTART: "restarting",
      },
    },
    restarting: {
      on: {
        START: "running",
        HALT: "down",
      },
    },
    running: {
      entry: assign({ incarnation: ({ context }) => context.incarnation + 1, current: null }),
      initial: "idle",
      states: {
        idle: {
          on: { TASK: { target: "working", actions: assign({ current: ({ event }) => event.requestId }) } },
        },
        working: {
          entry: { type: "startStep", params: ({ context }) => ({ requestId: context.current ?? "" }) },
          exit: "stopStep",
          on: {
            STEP_DONE: {
              target: "idle",
              actions: assign({
                current: null,
                threads: ({ context, event }) => {
                  const { exchange } = event;
                  if (exchange === undefined || context.history === null) return context.threads;
                  const before = context.threads[exchange.thread] ?? [];
                  return {
                    ...context.threads,
                    [exchange.thread]: appendExchange(before, exchange.messages, context.history),
                  };
                },
              }),
            },
            CANCEL: { target: "idle", actions: assign({ current: null }) },
          },
        },
      },
      on: {
        CRASH: { target: "down", actions: assign({ lastCrash: ({ event }) => event.reason }) },
        HALT: "down",
      },
    },
    stopped: { type: "final" },
    failed: { type: "final" },
  },
  on: {
    STOP: [
      { guard: ({ event }) => event.normal, target: ".stopped", actions: assign({ current: null }) },
      { target: ".failed", actions: assign({ current: null }) },
    ],
  },
});

/**
 * The persisted snapshot an actor of `lifecycleMachine` would give in the state `value` with
 * `context`, made without one (for a cell that has not made its statechart yet).
 */
export const restingSnapshot = (
  value: Exclude<CellStatus, "running"> | { readonly running: "idle" | "working" },
  context: LifecycleContext,
): Snapshot<unknown> =>
  lifecycleMachine.getPersistedSnapshot(
    lifecycleMachine.resolveState({ value, context }),
  ) as Snapshot<unknown>;

/** Where a cell is in its life. `down` = between incarnations (crashed, waiting for its supervisor). */
export type CellStatus = "running" | "down" | "restarting" | "stopped" | "failed";

/**
 * The statechart with its step actions delegating to `driverOf(self)`: made once and shared by every
 * cell (a machine made per cell with `provide` holds its own copy of every state node).
 */
export const makeCellMachine = (driverOf: (self: AnyActorRef) => StepDriver | undefined) =>
  lifecycleMachine.provide({
    actions: {
      startStep: ({ self }, params) => driverOf(self)?.startStep(params.requestId),
      stopStep: ({ self }) => driverOf(self)?.stopStep(),
    },
  });
