/**
 * The shape every benchmark follows: one JSON object per line, each with a baseline measured in
 * the same run, so the figure that matters is the ratio.
 */

/** One benchmark figure. Extra fields (p95, recall, clients, machine, …) are welcome. */
export interface BenchResult {
  readonly bench: string;
  readonly unit: string;
  readonly value: number;
  readonly baseline: string;
  readonly baselineValue: number;
  /** value / baselineValue (for "higher is better" units) — say in `unit` which way is better. */
  readonly ratio: number;
  readonly [extra: string]: unknown;
}

/** A named benchmark. Names start with their area: `route.`, `spawn.`, `provider.`, `memory.`, `ws.` … */
export interface Bench {
  readonly name: string;
  readonly run: () => Promise<ReadonlyArray<BenchResult>>;
}

/** Runs `fn` repeatedly for about `ms` milliseconds and returns operations per second. */
export const opsPerSecond = async (
  fn: (iterations: number) => void | Promise<void>,
  { ms = 1000, batch = 10_000 }: { ms?: number; batch?: number } = {},
): Promise<number> => {
  await fn(Math.min(batch, 1000)); // warm-up
  let done = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    await fn(batch);
    done += batch;
    elapsed = performance.now() - start;
  }
  return (done / elapsed) * 1000;
};

/** Percentile of a sample (0..100), by nearest rank. */
export const percentile = (sample: ReadonlyArray<number>, p: number): number => {
  if (sample.length === 0) return Number.NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
};

/** Rounds for printing. */
export const round = (n: number, digits = 3): number => Number(n.toFixed(digits));
