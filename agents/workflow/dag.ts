/**
 * The scheduling of a workflow's steps: each starts once the steps it depends on are done, at most
 * `concurrency` of the permit-holding ones at once (in spec order), and the first failure stops the
 * rest. The bookkeeping is plain data updated in callbacks: no fiber waits on dependencies, no
 * semaphore, no deferred per step. A step given as an effect runs in a fiber of its own; a step
 * given as a callback-driven start (a plain ask) runs with none.
 */
import { Cause, Effect, Exit, FiberId, Runtime } from "effect";

/** What the scheduler needs to know of a step. */
export interface DagStep {
  readonly id: string;
  readonly dependsOn?: ReadonlyArray<string> | undefined;
}

/**
 * The work of a step whose dependencies are done, holding one of the permits or (a person's wait)
 * none: an effect (run in a fiber of its own), or a callback-driven start with no fiber at all —
 * `start` calls `done` once with how the step ended and returns how to interrupt it (after which
 * `done` need not be called).
 */
export type Ready<E> =
  | { readonly run: Effect.Effect<void, E>; readonly permit: boolean }
  | {
      readonly start: (done: (exit: Exit.Exit<void, E>) => void) => () => void;
      readonly permit: boolean;
    };

/**
 * Runs `steps`: `ready(step)` is called once all of the step's dependencies succeeded. Succeeds when
 * every step did; fails with the first step's failure once the steps still running have been
 * interrupted (a defect in a step, or a step interrupted by something else, is passed on the same way). Interrupting it interrupts the steps
 * running and waits for them. Gotcha: `dependsOn` must name steps of the list, without cycles (the
 * spec's validation sees to it); a step that can never start would keep the run waiting.
 */
export const runDag = <S extends DagStep, E>(
  steps: ReadonlyArray<S>,
  concurrency: number,
  ready: (step: S) => Ready<E>,
): Effect.Effect<void, E> =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) =>
    Effect.async<void, E>((resume) => {
      const fork = Runtime.runFork(runtime);
      const waitingOn = new Map<string, number>();
      const dependents = new Map<string, S[]>();
      for (const step of steps) {
        waitingOn.set(step.id, step.dependsOn?.length ?? 0);
        for (const dep of step.dependsOn ?? []) {
          const list = dependents.get(dep);
          if (list === undefined) dependents.set(dep, [step]);
          else list.push(step);
        }
      }
      /** The steps running, each with how to interrupt it. */
      const running = new Set<{ interrupt: () => void }>();
      /** Steps whose dependencies are done, in the order they became so. */
      const startable: S[] = [];
      /** Work waiting for a permit, first come first served. */
      const pending: Array<{ readonly step: S; readonly ready: Ready<E> }> = [];
      let permitsInUse = 0;
      let done = 0;
      let stopped: Cause.Cause<E> | undefined;
      let finished = false;
      /** Set while the run itself is being interrupted: called once nothing runs any more. */
      let drained: (() => void) | undefined;

      const finish = () => {
        if (finished || running.size > 0) return;
        if (stopped === undefined && done < steps.length) return;
        finished = true;
        resume(stopped === undefined ? Effect.void : Effect.failCause(stopped));
      };
      const stop = (cause: Cause.Cause<E>) => {
        if (stopped !== undefined) return;
        stopped = cause;
        startable.length = 0;
        pending.length = 0;
        for (const entry of [...running]) entry.interrupt();
      };
      const succeeded = (step: S) => {
        done++;
        for (const next of dependents.get(step.id) ?? []) {
          const left = waitingOn.get(next.id)! - 1;
          waitingOn.set(next.id, left);
          if (left === 0) startable.push(next);
        }
      };
      const start = (step: S, work: Ready<E>) => {
        const permit = work.permit;
        if (permit) permitsInUse++;
        let ended = false;
        const entry = { interrupt: () => {} };
        running.add(entry);
        const ends = (exit: Exit.Exit<void, E>) => {
          if (ended) return;
          ended = true;
          running.delete(entry);
          if (permit) permitsInUse--;
          // A step interrupted from elsewhere (its agent's tree closed under it) ends the run too.
          if (Exit.isSuccess(exit)) succeeded(step);
          else stop(exit.cause);
          if (running.size === 0) drained?.();
          pump();
          finish();
        };
        if ("run" in work) {
          const fiber = fork(work.run);
          entry.interrupt = () => fiber.unsafeInterruptAsFork(fiber.id());
          fiber.addObserver(ends);
        } else {
          const cancel = work.start(ends);
          entry.interrupt = () => {
            cancel();
            ends(Exit.interrupt(FiberId.none));
          };
        }
      };
      /** Starts what can start: ready steps in order, then permit holders while permits last. */
      const pump = () => {
        while (stopped === undefined && startable.length > 0) {
          const step = startable.shift()!;
          const work = ready(step);
          if (work.permit) pending.push({ step, ready: work });
          else start(step, work);
        }
        while (stopped === undefined && pending.length > 0 && permitsInUse < concurrency) {
          const { step, ready: work } = pending.shift()!;
          start(step, work);
        }
      };

      for (const step of steps) if (waitingOn.get(step.id) === 0) startable.push(step);
      pump();
      finish();
      return Effect.async<void>((resumeCancel) => {
        finished = true;
        stop(Cause.empty);
        if (running.size === 0) resumeCancel(Effect.void);
        else drained = () => resumeCancel(Effect.void);
      });
    }),
  );
