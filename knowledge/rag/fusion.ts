/**
 * Fusion of ranked lists by a weighted sum of normalised scores (a convex combination, the fusion
 * that analyses of hybrid retrieval find both better than reciprocal rank and cheap to tune).
 *
 * Each list's scores are min–max normalised over the list (its best 1, its last 0), so BM25's
 * unbounded scores and cosine similarities become comparable; an item a list did not return
 * counts 0 there. The weights were tuned on one corpus and checked on another (see
 * `bench/retrieval.ts` and docs/knowledge.md): keyword search carries most of the weight while the
 * offline embedder only measures word overlap.
 */
import type { SearchRanks } from "../wire.ts";

/** The retrievers a hybrid search fuses. */
export type Retriever = keyof SearchRanks;

/** How much each retriever's normalised score counts. */
export type FusionWeights = Readonly<Record<Retriever, number>>;

/**
 * Weights of the default set-up, by result level: tuned on the `readme` corpus (package READMEs,
 * their descriptions as queries), validated on `man` (manual pages).
 */
export const DEFAULT_FUSION: Readonly<{ passage: FusionWeights; document: FusionWeights }> = {
  passage: { keyword: 0.7, vector: 0.3, graph: 0.1 },
  document: { keyword: 0.7, vector: 0.3, graph: 0.1 },
};

/** An item of a ranked list: its key and its retriever's score (higher is better). */
export interface Scored<T> {
  readonly key: string;
  readonly item: T;
  readonly score: number;
}

/** One fused item: the weighted sum, and where each retriever ranked it (1-based). */
export interface Fused<T> {
  readonly key: string;
  readonly item: T;
  readonly score: number;
  readonly ranks: SearchRanks;
}

/** Min–max normalised scores of a list sorted best first (a one-item or flat list scores 1). */
const normalise = <T>(list: ReadonlyArray<Scored<T>>): ReadonlyArray<number> => {
  if (list.length === 0) return [];
  const top = Math.max(...list.map((s) => s.score));
  const bottom = Math.min(...list.map((s) => s.score));
  return list.map((s) => (top > bottom ? (s.score - bottom) / (top - bottom) : 1));
};

/** Fuses ranked lists (each best first) by weighted normalised score; ties go to the smaller key. */
export const fuseByScore = <T>(
  lists: Readonly<Partial<Record<Retriever, ReadonlyArray<Scored<T>>>>>,
  weights: FusionWeights,
): ReadonlyArray<Fused<T>> => {
  const fused = new Map<string, { key: string; item: T; score: number; ranks: Record<string, number> }>();
  for (const [name, list] of Object.entries(lists) as Array<[Retriever, ReadonlyArray<Scored<T>>]>) {
    const normalised = normalise(list);
    list.forEach((s, i) => {
      const entry = fused.get(s.key) ?? { key: s.key, item: s.item, score: 0, ranks: {} };
      entry.score += weights[name] * normalised[i]!;
      if (entry.ranks[name] === undefined) entry.ranks[name] = i + 1;
      fused.set(s.key, entry);
    });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : 1));
};
