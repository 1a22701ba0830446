/**
 * A z-score anomaly detector over a metric's recent history: a measurement more than `zScore`
 * standard deviations away from the mean of the last `window` measurements (once at least
 * `minSamples` are known) is anomalous. The history keeps growing with every measurement, the
 * anomalous ones included, so a lasting change of level stops being flagged after a while.
 */

/** The verdict on one measurement. */
export interface AnomalyVerdict {
  readonly anomalous: boolean;
  readonly mean: number;
  readonly stdDev: number;
  readonly z: number;
}

/** A rolling window of one metric's values. */
export interface AnomalyWindow {
  /** Judges `value` against the history so far, then adds it to the history. */
  readonly observe: (value: number) => AnomalyVerdict;
}

/** Makes a window. Gotcha: a perfectly constant history flags any different value (its z is infinite). */
export const makeAnomalyWindow = (options: {
  readonly window: number;
  readonly minSamples: number;
  readonly zScore: number;
}): AnomalyWindow => {
  const values: number[] = [];
  return {
    observe: (value) => {
      const n = values.length;
      let verdict: AnomalyVerdict = { anomalous: false, mean: value, stdDev: 0, z: 0 };
      if (n >= options.minSamples) {
        const mean = values.reduce((a, b) => a + b, 0) / n;
        const stdDev = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
        const z = stdDev === 0 ? (value === mean ? 0 : Number.POSITIVE_INFINITY) : (value - mean) / stdDev;
        verdict = { anomalous: Math.abs(z) > options.zScore, mean, stdDev, z };
      }
      values.push(value);
      if (values.length > options.window) values.shift();
      return verdict;
    },
  };
};
