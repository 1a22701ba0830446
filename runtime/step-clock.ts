/**
 * The step clock: how long an agent step has really been working. Time spent waiting for a person
 * (a tool call's approval) is paused out of it, so the `maxStepMs` tripwire never fires on a step
 * that is only waiting for a decision. The step-time guard makes one per step and sets it in a
 * FiberRef; code that waits on people wraps the wait in `pausingStepClock`.
 */
import { Clock, Effect, FiberRef } from "effect";

/** One step's clock: when it started and how long it has been paused. Times from Effect's Clock. */
export interface StepClock {
  readonly startedAt: number;
  pausedMs: number;
  /** When the current pause began; undefined while working. */
  pausedSince: number | undefined;
  /** Waits running at once (several tool calls of one step may wait together). */
  pauses: number;
  /** Called when the last pause ends. */
  readonly onResume: Set<() => void>;
}

/** The clock of the step the current fiber runs in (undefined outside a guarded step). */
export const currentStepClock: FiberRef.FiberRef<StepClock | undefined> = FiberRef.unsafeMake<
  StepClock | undefined
>(undefined);

/** A new clock started now. */
export const makeStepClock = (startedAt: number): StepClock => ({
  startedAt,
  pausedMs: 0,
  pausedSince: undefined,
  pauses: 0,
  onResume: new Set(),
});

/** Working time so far: wall time minus the pauses (including one still running). */
export const activeMs = (clock: StepClock, now: number): number =>
  now - clock.startedAt - clock.pausedMs - (clock.pausedSince === undefined ? 0 : now - clock.pausedSince);

/** Runs `effect` with the step clock paused (a wait for a person). Outside a step it just runs it. */
export const pausingStepClock = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(FiberRef.get(currentStepClock), (clock) => {
    if (clock === undefined) return effect;
    const pause = Effect.map(Clock.currentTimeMillis, (now) => {
      if (clock.pauses++ === 0) clock.pausedSince = now;
    });
    const resume = Effect.map(Clock.currentTimeMillis, (now) => {
      if (--clock.pauses > 0 || clock.pausedSince === undefined) return;
      clock.pausedMs += now - clock.pausedSince;
      clock.pausedSince = undefined;
      for (const wake of [...clock.onResume]) wake();
    });
    return Effect.acquireUseRelease(
      pause,
      () => effect,
      () => resume,
    );
  });

/** Waits until the clock is not paused (returns at once when it is not). */
export const whileStepPaused = (clock: StepClock): Effect.Effect<void> =>
  clock.pauses === 0
    ? Effect.void
    : Effect.async<void>((resume) => {
        const wake = () => {
          clock.onResume.delete(wake);
          resume(Effect.void);
        };
        clock.onResume.add(wake);
        return Effect.sync(() => clock.onResume.delete(wake));
      });
