/**
 * The scheduling of a workflow's steps: each starts once the steps it depends on are done, at most
 * `concurrency` of the permit-holding ones at once (in spec order), and the first failure stops the
 * rest. The bookkeeping is plain data updated in callbacks; the only fibers are the running steps'
 * own (no fiber waiting on dependencies, no semaphore, no deferred per step).
 */
import { Cause, Effect, Exit, Fiber, Runtime } from "effect";

/** What the scheduler needs to know of a step. */
export interface DagStep {
  readonly id: string;
  readonly dependsOn?: ReadonlyArray<string> | undefined;
}

/** The work of a step whose dependencies are done, holding one of the permits or (a person's wait) none. */
export interface Ready<E> {
  readonly run: Effect.Effect<void, E>;
  readonly permit: boolean;
}

/**
 * Runs `steps`: `ready(step)` is called once all of the step's dependencies succeeded. Succeeds when
 * every step did; fails with the first step's failure once the steps still running have been
 * interrupted (a defect in a step is passed on the same way). Interrupting it interrupts the steps
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
      const running = new Set<Fiber.RuntimeFiber<void, E>>();
      /** Steps whose dependencies are done, in the order they became so. */
      const startable: S[] = [];
      /** Work waiting for a permit, first come first served. */
      const pending: Array<{ readonly step: S; readonly run: Effect.Effect<void, E> }> = [];
      let permitsInUse = 0;
      let done = 0;
      let stopped: Cause.Cause<E> | undefined;
      let finished = false;

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
        for (const fiber of running) fiber.unsafeInterruptAsFork(fiber.id());
      };
      const start = (run: Effect.Effect<void, E>, permit: boolean, step: S) => {
        if (permit) permitsInUse++;
        const fiber = fork(run);
        running.add(fiber);
        fiber.addObserver((exit) => {
          running.delete(fiber);
          if (permit) permitsInUse--;
          if (Exit.isSuccess(exit)) succeeded(step);
          else if (!Cause.isInterruptedOnly(exit.cause)) stop(exit.cause);
          pump();
          finish();
        });
      };
      /** Starts what can start: ready steps in order, then queued permit holders while permits last. */
      const pump = () => {
        while (stopped === undefined && startable.length > 0) {
          const step = startable.shift()!;
          const next = ready(step);
          if (next.permit) pending.push({ step, run: next.run });
          else start(next.run, false, step);
        }
        while (stopped === undefined && pending.length > 0 && permitsInUse < concurrency) {
          const { step, run } = pending.shift()!;
          start(run, true, step);
        }
      };
      const succeeded = (step: S) => {
        done++;
        for (const next of dependents.get(step.id) ?? []) {
          const left = waitingOn.get(next.id)! - 1;
          waitingOn.set(next.id, left);
          if (left === 0) startable.push(next);
        }
      };

      for (const step of steps) if (waitingOn.get(step.id) === 0) startable.push(step);
      pump();
      finish();
      return Effect.suspend(() => {
        finished = true;
        stop(Cause.empty);
        return Effect.forEach([...running], Fiber.interrupt, { discard: true });
      });
    }),
  );
