/**
 * The proximity bonus of document-level keyword search: a document that says several of the
 * query's words close together (in one sentence, as a description or its paraphrase does) is more
 * likely about the query than one that scatters them over its pages. BM25 counts words wherever
 * they stand; this adds, to each of the best rows, the idf of the distinct query terms found
 * together in its densest `window` of words.
 *
 * Window and weight tuned on the `readme` corpus and checked on `man` (`bench/retrieval.ts`, 400
 * queries): keyword MRR@10 on man 0.712 → 0.734, hybrid 0.741 → 0.753 (readme: keyword 0.935 →
 * 0.938, hybrid 0.955 → 0.957). Gotcha: only the best rows get it (those `bm25Search` returns),
 * read in a second statement: about 2–4 ms more a document search on a busy 2-core machine.
 */

/** Words a window spans, and how much the idf sum of its terms adds to a row's BM25 score. */
export const PROXIMITY = { window: 10, weight: 1 } as const;

/**
 * The largest sum of `idf` over the distinct terms found within `window` consecutive positions,
 * counting only windows that hold at least two distinct terms (one term alone is BM25's business).
 * `positions[i]` are term `i`'s positions in the row, ascending.
 */
export const densestWindow = (
  positions: ReadonlyArray<ReadonlyArray<number>>,
  idf: ReadonlyArray<number>,
  window: number,
): number => {
  const events: Array<readonly [position: number, term: number]> = [];
  positions.forEach((list, term) => {
    for (const p of list) events.push([p, term]);
  });
  events.sort((x, y) => x[0] - y[0]);
  const inWindow = new Int32Array(positions.length);
  let sum = 0;
  let distinct = 0;
  let best = 0;
  let start = 0;
  for (const [position, term] of events) {
    if (inWindow[term]!++ === 0) {
      sum += idf[term]!;
      distinct++;
    }
    while (events[start]![0] <= position - window) {
      const left = events[start++]![1];
      if (--inWindow[left]! === 0) {
        sum -= idf[left]!;
        distinct--;
      }
    }
    if (distinct >= 2 && sum > best) best = sum;
  }
  return best;
};
