/**
 * Word pieces of the Universal Sentence Encoder's vocabulary (a unigram SentencePiece model of
 * 8,000 pieces with their log probabilities): each word is cut into the pieces of highest total
 * log probability (Viterbi), a word start marked by "▁" as in the model.
 */

/** A vocabulary: `[piece, log probability]`, in id order (the first few ids are reserved). */
export type PieceVocabulary = ReadonlyArray<readonly [string, number]>;

/** Ids below this are control symbols (`<s>`, `</s>`, …), never produced for text. */
export const RESERVED_PIECES = 6;

/** Cuts words into piece ids; remembers the words it has cut. */
export interface PieceTokenizer {
  /** Piece ids of one word (without the "▁" marker; it is added). Unknown characters are skipped. */
  readonly word: (word: string) => ReadonlyArray<number>;
}

/** Makes a tokenizer over `vocabulary`; `cacheSize` words are remembered (default 200,000). */
export const makePieceTokenizer = (vocabulary: PieceVocabulary, cacheSize = 200_000): PieceTokenizer => {
  const ids = new Map<string, number>();
  let longest = 1;
  for (let i = RESERVED_PIECES; i < vocabulary.length; i++) {
    const [piece] = vocabulary[i]!;
    ids.set(piece, i);
    longest = Math.max(longest, piece.length);
  }
  // A character the vocabulary lacks costs this much, so any path through known pieces wins.
  const unknownCost = -100;
  const cache = new Map<string, ReadonlyArray<number>>();
  const cut = (word: string): ReadonlyArray<number> => {
    const text = `\u2581${word}`;
    const n = text.length;
    const best = new Float64Array(n + 1).fill(Number.NEGATIVE_INFINITY);
    const from = new Int32Array(n + 1);
    const piece = new Int32Array(n + 1).fill(-1);
    best[0] = 0;
    for (let end = 1; end <= n; end++) {
      for (let start = Math.max(0, end - longest); start < end; start++) {
        if (best[start] === Number.NEGATIVE_INFINITY) continue;
        const id = ids.get(text.slice(start, end));
        const score = id === undefined ? (end - start === 1 ? unknownCost : undefined) : vocabulary[id]![1];
        if (score === undefined) continue;
        const total = best[start]! + score;
        if (total > best[end]!) {
          best[end] = total;
          from[end] = start;
          piece[end] = id ?? -1;
        }
      }
    }
    const out: number[] = [];
    for (let end = n; end > 0; end = from[end]!) if (piece[end]! >= 0) out.push(piece[end]!);
    return out.reverse();
  };
  return {
    word: (word) => {
      const known = cache.get(word);
      if (known) return known;
      const pieces = cut(word);
      if (cache.size >= cacheSize) cache.clear();
      cache.set(word, pieces);
      return pieces;
    },
  };
};
