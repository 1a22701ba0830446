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

/** Candidate names in `text`: every run of 1..4 words, lower-cased. */
export const candidateNames = (text: string, limit = 20_000): ReadonlyArray<string> => {
  const words = text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}'_-]*/gu) ?? [];
  const out = new Set<string>();
  for (let i = 0; i < words.length && out.size < limit; i++) {
    let phrase = "";
    for (let n = 0; n < 4 && i + n < words.length; n++) {
      phrase = phrase ? `${phrase} ${words[i + n]}` : words[i + n]!;
      out.add(phrase);
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
    const perText = texts.map((t) => candidateNames(t));
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
