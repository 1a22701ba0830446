/**
 * A Promise handler as one effect under a time limit: one timer raced with the Promise inside a
 * single `Effect.async`, instead of `Effect.timeoutFail` (which forks the call and a sleeping fiber
 * and races them, several times the cost of a fast tool call). The handler's `signal` aborts when
 * the limit passes or the calling fiber is interrupted.
 */
import { Clock, Effect } from "effect";

/** The time limit and the message a call that outlives it fails with. */
export interface TimeLimit {
  readonly timeoutMs: number;
  readonly onTimeout: () => string;
}

/** Longest delay a JS timer takes; a longer limit is no limit (as Effect's own clock treats it). */
const maxTimerMs = 2 ** 31 - 1;

/** The class of the live clock; any other clock (`TestClock`) is honoured through `Effect.timeoutFail`. */
const LiveClock = Clock.make().constructor;

/**
 * Starts `start` and settles with its Promise or with `onTimeout()` after `timeoutMs`, whichever
 * comes first. Gotcha: an `AbortSignal` costs more to make than a fast call takes, so `start` gets
 * a function that makes it on first call (aborted already if the call timed out or was interrupted).
 */
export const promiseWithin = <A>(
  start: (signal: () => AbortSignal) => PromiseLike<A>,
  limit: TimeLimit,
  onError: (error: unknown) => string,
): Effect.Effect<A, string> =>
  Effect.clockWith((clock) => {
    if (clock.constructor !== LiveClock)
      return Effect.tryPromise({ try: (signal) => start(() => signal), catch: onError }).pipe(
        Effect.timeoutFail({ duration: limit.timeoutMs, onTimeout: limit.onTimeout }),
      );
    return Effect.async<A, string>((resume) => {
      let controller: AbortController | undefined;
      let stopped = false;
      let settled = false;
      const signal = () => {
        if (controller === undefined) {
          controller = new AbortController();
          if (stopped) controller.abort();
        }
        return controller.signal;
      };
      const stop = () => {
        stopped = true;
        controller?.abort();
      };
      const timer =
        limit.timeoutMs <= maxTimerMs
          ? setTimeout(() => {
              if (settled) return;
              settled = true;
              stop();
              resume(Effect.fail(limit.onTimeout()));
            }, limit.timeoutMs)
          : undefined;
      const settle = (outcome: Effect.Effect<A, string>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resume(outcome);
      };
      try {
        start(signal).then(
          (value) => settle(Effect.succeed(value)),
          (error: unknown) => settle(Effect.fail(onError(error))),
        );
      } catch (error) {
        settle(Effect.fail(onError(error)));
      }
      // Interrupted (the agent stopped): the timer goes, the handler is told through its signal.
      return Effect.sync(() => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stop();
      });
    });
  });
