/**
 * Per-connection limits: a token bucket for the request rate and a counter for requests in flight.
 * Both are plain data driven by a clock reading passed in, so they are exact under Effect's TestClock.
 */

/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export interface RateLimiter {
  /** Takes one token at time `now` (ms); false when the caller is over its rate. */
  readonly take: (now: number) => boolean;
  /** Milliseconds until one token is available again (0 when one is). */
  readonly retryAfterMs: (now: number) => number;
}

/** Makes a token bucket that starts full. */
export const makeRateLimiter = (perSecond: number, burst: number): RateLimiter => {
  let tokens = burst;
  let last: number | undefined;
  const refill = (now: number) => {
    if (last !== undefined && now > last)
      tokens = Math.min(burst, tokens + ((now - last) / 1000) * perSecond);
    last = now;
  };
  return {
    take: (now) => {
      refill(now);
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    retryAfterMs: (now) => {
      refill(now);
      return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / perSecond) * 1000);
    },
  };
};

/** Counts requests in flight against a maximum. */
export interface InFlight {
  readonly tryAcquire: () => boolean;
  readonly release: () => void;
  readonly current: () => number;
}

/** Makes an in-flight counter. */
export const makeInFlight = (max: number): InFlight => {
  let n = 0;
  return {
    tryAcquire: () => {
      if (n >= max) return false;
      n += 1;
      return true;
    },
    release: () => {
      n = Math.max(0, n - 1);
    },
    current: () => n,
  };
};
