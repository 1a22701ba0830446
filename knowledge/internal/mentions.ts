/**
 * Finds which known entities a text mentions: its word n-grams (1 to 4 words) are looked up by
 * name, ignoring case. Exact names only: "Ada Lovelace" finds the entity named "Ada Lovelace",
 * not one named "Lovelace, Ada".
 */
import { Effect } from "effect";
import type { StoreError } from "../errors.ts";
import type { GraphNode, GraphStoreService } from "../graph-store.ts";

/** Node types that are memory's own bookkeeping, never "mentioned". */
export const INTERNAL_TYPES: ReadonlySet<string> = new Set(["document", "chunk", "episode", "agent"]);

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'_-]*/gu;
const MAX_WORDS = 4;

/** Candidate names in `text`: every run of 1..4 words, lower-cased. */
export const candidateNames = (text: string, limit = 20_000): ReadonlyArray<string> => {
  const words = text.toLowerCase().match(WORD) ?? [];
  const out = new Set<string>();
  for (let i = 0; i < words.length && out.size < limit; i++) {
    let phrase = "";
    for (let n = 0; n < MAX_WORDS && i + n < words.length; n++) {
      phrase = phrase ? `${phrase} ${words[i + n]}` : words[i + n]!;
      out.add(phrase);
    }
  }
  return [...out];
};

/**
 * Below this many named nodes, their names are fetched once and matched in memory; above it, each
 * candidate is looked up in the store.
 */
const IN_MEMORY_NAMES = 50_000;

/** Characters of text above which matching in memory is worth fetching the names. */
const IN_MEMORY_TEXT = 20_000;

/** The known names among `text`'s word runs, matched in memory against `names`. */
const namesIn = (text: string, names: ReadonlySet<string>, firstWords: ReadonlySet<string>) => {
  const words = text.toLowerCase().match(WORD) ?? [];
  const out = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    if (!firstWords.has(words[i]!)) continue;
    let phrase = "";
    for (let n = 0; n < MAX_WORDS && i + n < words.length; n++) {
      phrase = phrase ? `${phrase} ${words[i + n]}` : words[i + n]!;
      if (names.has(phrase)) out.add(phrase);
    }
  }
  return [...out];
};

/** The entities each text mentions (same order as `texts`). */
export const findMentions = (
  graph: GraphStoreService,
  texts: ReadonlyArray<string>,
): Effect.Effect<ReadonlyArray<ReadonlyArray<GraphNode>>, StoreError> =>
  Effect.gen(function* () {
    // For much text (a load), a store with few named nodes (the usual case) says which names exist
    // in one query and each text is matched in memory, instead of looking up every word run of
    // every passage. A query's few word runs are looked up directly.
    const much = texts.reduce((n, t) => n + t.length, 0) > IN_MEMORY_TEXT;
    const known = much ? yield* graph.namesUpTo(IN_MEMORY_NAMES, [...INTERNAL_TYPES]) : undefined;
    // A store that names nothing yet (a first load): no text can mention anything.
    if (known?.length === 0) return texts.map(() => []);
    const perText = known
      ? (() => {
          const names = new Set(known);
          const firstWords = new Set(known.map((n) => n.split(" ")[0]!));
          return texts.map((t) => namesIn(t, names, firstWords));
        })()
      : texts.map((t) => candidateNames(t));
    const all = [...new Set(perText.flat())];
    if (all.length === 0) return texts.map(() => []);
    const found: GraphNode[] = [];
    for (let i = 0; i < all.length; i += 5000)
      found.push(...(yield* graph.findByName(all.slice(i, i + 5000))));
    const byName = new Map<string, GraphNode[]>();
    for (const node of found) {
      if (INTERNAL_TYPES.has(node.type)) continue;
      const key = node.name.toLowerCase();
      byName.set(key, [...(byName.get(key) ?? []), node]);
    }
    return perText.map((names) => names.flatMap((n) => byName.get(n) ?? []));
  });
