/**
 * The supervisor's decision as a pure function: (supervisor state, child exit, now) → actions.
 * The supervisor (supervisor.ts) only carries the actions out; everything that decides — restart
 * types, strategy, restart intensity, backoff, and how overlapping crashes merge — lives here, so
 * it can be tested without a runtime (table-driven and with generated crash sequences).
 *
 * Overlapping restarts: a restart waits out its backoff, so a second crash can come while a
 * restart is pending. As in OTP, where a supervisor handles one exit completely before the next,
 * the new decision absorbs every pending restart it overlaps: their children join the new plan and
 * the whole plan starts in spec order. So `rest_for_one` over a, b, c, d — c crashes, then a while
 * c's restart waits — restarts a, b, c, d, never c, d, a, b.
 */
import { backoffDelay } from "./backoff.ts";

/** How one supervisor restarts its children (the spec's `supervision`). */
export interface SupervisionPolicy {
  readonly strategy: "one_for_one" | "one_for_all" | "rest_for_one";
  readonly maxRestarts: number;
  readonly periodMs: number;
  readonly backoff: { readonly minMs: number; readonly maxMs: number };
}

/** A child as the decision sees it: its key (address), restart type and whether it runs now. */
export interface ChildView {
  readonly key: string;
  /** The effective restart type (a runtime-spawned child without one is `temporary`). */
  readonly restart: "permanent" | "transient" | "temporary";
  readonly running: boolean;
}

/** A restart waiting for its backoff: these children start, in spec order, when it is due. */
export interface PendingRestart {
  readonly plan: number;
  readonly targets: ReadonlyArray<string>;
  readonly delayMs: number;
}

/** What a supervisor remembers between decisions. Plain data. */
export interface SupervisorState {
  /** When each restart within the intensity window was decided (epoch ms). */
  readonly restartLog: ReadonlyArray<number>;
  readonly pending: ReadonlyArray<PendingRestart>;
  readonly nextPlan: number;
}

export const initialSupervisorState: SupervisorState = { restartLog: [], pending: [], nextPlan: 0 };

/** A child's incarnation ended. */
export interface ChildExit {
  readonly key: string;
  readonly reason: string;
  readonly normal: boolean;
}

/** What the supervisor must do, in order. */
export type SupervisorAction =
  /** The child leaves for good (`remove`: it also leaves the supervisor's child list). */
  | {
      readonly _tag: "Stop";
      readonly key: string;
      readonly reason: string;
      readonly normal: boolean;
      readonly remove: boolean;
    }
  /** Ends a running sibling's incarnation; it will be restarted by a pending plan. */
  | { readonly _tag: "Halt"; readonly key: string; readonly reason: string }
  /** Marks the children as waiting for a restart. */
  | { readonly _tag: "MarkRestarting"; readonly keys: ReadonlyArray<string> }
  /** A pending restart was absorbed into a new one: cancel its timer. */
  | { readonly _tag: "CancelRestart"; readonly plan: number }
  /** Start a timer of `delayMs`; when it fires, call `decideRestartDue` with `plan`. */
  | {
      readonly _tag: "ScheduleRestart";
      readonly plan: number;
      readonly targets: ReadonlyArray<string>;
      readonly delayMs: number;
    }
  /** Start a new incarnation of the child (after its plan came due). */
  | { readonly _tag: "Start"; readonly key: string; readonly delayMs: number }
  /** Restart intensity exceeded: the supervisor stops its children and fails itself. */
  | { readonly _tag: "Escalate"; readonly reason: string };

export interface Decision {
  readonly state: SupervisorState;
  readonly actions: ReadonlyArray<SupervisorAction>;
}

/**
 * Decides what follows a child's exit. `children` are in spec (start) order; `random01` is the
 * backoff jitter, drawn by the caller from Effect's Random.
 */
export const decideExit = (
  state: SupervisorState,
  policy: SupervisionPolicy,
  children: ReadonlyArray<ChildView>,
  exit: ChildExit,
  now: number,
  random01: number,
): Decision => {
  const child = children.find((c) => c.key === exit.key);
  if (child === undefined) return { state, actions: [] };
  if (child.restart === "temporary" || (child.restart === "transient" && exit.normal)) {
    const stop: SupervisorAction = {
      _tag: "Stop",
      key: child.key,
      reason: exit.reason,
      normal: exit.normal,
      remove: child.restart === "temporary",
    };
    return { state, actions: [stop] };
  }
  const log = state.restartLog.filter((t) => now - t < policy.periodMs);
  if (log.length >= policy.maxRestarts) {
    const reason = `restart intensity exceeded: more than ${policy.maxRestarts} restarts in ${policy.periodMs} ms (last: ${exit.key}: ${exit.reason})`;
    return {
      state: { ...state, restartLog: log, pending: [] },
      actions: [
        ...state.pending.map((p): SupervisorAction => ({ _tag: "CancelRestart", plan: p.plan })),
        { _tag: "Escalate", reason },
      ],
    };
  }
  const index = children.indexOf(child);
  const direct =
    policy.strategy === "one_for_one"
      ? [child.key]
      : policy.strategy === "one_for_all"
        ? children.map((c) => c.key)
        : children.slice(index).map((c) => c.key);
  const wanted = new Set(direct);
  const absorbed = state.pending.filter((p) => p.targets.some((t) => wanted.has(t)));
  for (const p of absorbed) for (const t of p.targets) wanted.add(t);
  const actions: SupervisorAction[] = absorbed.map((p) => ({ _tag: "CancelRestart", plan: p.plan }));
  const why = `${exit.key} ${exit.normal ? "exited" : "failed"}: ${exit.reason}`;
  const inPlan = children.filter((c) => wanted.has(c.key));
  const leaving = new Set<string>();
  for (const sibling of [...inPlan].reverse()) {
    if (sibling.key === child.key || !sibling.running) continue;
    if (sibling.restart === "temporary") {
      leaving.add(sibling.key);
      actions.push({
        _tag: "Stop",
        key: sibling.key,
        reason: `${policy.strategy}: ${why}`,
        normal: true,
        remove: true,
      });
    } else {
      actions.push({ _tag: "Halt", key: sibling.key, reason: `${policy.strategy}: ${why}` });
    }
  }
  const targets = inPlan.filter((c) => !leaving.has(c.key)).map((c) => c.key);
  const attempt = log.length;
  const delayMs = backoffDelay(attempt, policy.backoff.minMs, policy.backoff.maxMs, random01);
  const plan = state.nextPlan;
  actions.push({ _tag: "MarkRestarting", keys: targets });
  actions.push({ _tag: "ScheduleRestart", plan, targets, delayMs });
  const absorbedPlans = new Set(absorbed.map((p) => p.plan));
  return {
    state: {
      restartLog: [...log, now],
      pending: [...state.pending.filter((p) => !absorbedPlans.has(p.plan)), { plan, targets, delayMs }],
      nextPlan: plan + 1,
    },
    actions,
  };
};

/** A restart's backoff is over: start its children in spec order. An absorbed plan does nothing. */
export const decideRestartDue = (state: SupervisorState, plan: number): Decision => {
  const due = state.pending.find((p) => p.plan === plan);
  if (due === undefined) return { state, actions: [] };
  return {
    state: { ...state, pending: state.pending.filter((p) => p.plan !== plan) },
    actions: due.targets.map((key): SupervisorAction => ({ _tag: "Start", key, delayMs: due.delayMs })),
  };
};

/** The supervisor itself restarts (or stops): pending restarts are dropped, the intensity starts fresh. */
export const decideReset = (state: SupervisorState): Decision => ({
  state: { ...initialSupervisorState, nextPlan: state.nextPlan },
  actions: state.pending.map((p): SupervisorAction => ({ _tag: "CancelRestart", plan: p.plan })),
});
