/**
 * Restart backoff: exponential from `minMs`, capped at `maxMs`, with "equal jitter" (half of the
 * delay fixed, half random) so restarts of many siblings do not stampede, yet never come sooner than
 * half the exponential step. `random01` comes from Effect's Random so tests are deterministic.
 */
export const backoffDelay = (attempt: number, minMs: number, maxMs: number, random01: number): number => {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt));
  const floor = Math.min(ceiling, Math.max(minMs, ceiling / 2));
  return Math.round(floor + (ceiling - floor) * random01);
};
