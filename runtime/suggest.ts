/**
 * "Did you mean …?" for misspelled names (config sections, spec fields, literal values): the closest
 * candidate by Damerau-Levenshtein distance (optimal string alignment: insertions, deletions,
 * substitutions and swaps of two neighbours each cost 1), compared without case.
 */
import type { SchemaAST as AST, Schema } from "effect";

/** Edit distance between `a` and `b`, counting a swap of two neighbouring characters as one edit. */
export const editDistance = (a: string, b: string): number => {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
};

/**
 * The candidate closest to `word`, if one is close enough to be a likely typo: at most 1 edit for
 * names up to 4 characters, then about one edit per three characters. Gotcha: ties go to the
 * candidate listed first; names longer than 64 characters are not compared (no suggestion).
 */
export const closest = (word: string, candidates: Iterable<string>): string | undefined => {
  if (word.length > 64) return undefined;
  const lower = word.toLowerCase();
  const allowed = Math.max(1, Math.floor(word.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    if (name === word || name.length > 64) continue;
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
};

/** `; did you mean x?` (empty when nothing is close), for the end of a problem message. */
export const didYouMean = (word: string, candidates: Iterable<string>): string => {
  const match = closest(word, candidates);
  return match === undefined ? "" : `; did you mean ${match}?`;
};

const keysOf = (ast: AST.AST, path: ReadonlyArray<PropertyKey>, seen: number): ReadonlyArray<string> => {
  if (seen > 64) return [];
  switch (ast._tag) {
    case "Suspend":
      return keysOf(ast.f(), path, seen + 1);
    case "Refinement":
      return keysOf(ast.from, path, seen + 1);
    case "Transformation":
      return keysOf(ast.from, path, seen + 1);
    case "Union":
      return [...new Set(ast.types.flatMap((member) => keysOf(member, path, seen + 1)))];
    case "TypeLiteral": {
      if (path.length === 0) return ast.propertySignatures.map((p) => String(p.name));
      const [head, ...rest] = path;
      const property = ast.propertySignatures.find((p) => p.name === head);
      if (property) return keysOf(property.type, rest, seen + 1);
      const index = ast.indexSignatures[0];
      return index ? keysOf(index.type, rest, seen + 1) : [];
    }
    case "TupleType": {
      if (path.length === 0) return [];
      const [head, ...rest] = path;
      const element = typeof head === "number" ? ast.elements[head] : undefined;
      const type = element?.type ?? ast.rest[0]?.type;
      return type ? keysOf(type, rest, seen + 1) : [];
    }
    default:
      return [];
  }
};

/** The field names a schema knows for the object at `path` (segments as in a decoding issue). */
export const knownKeys = (
  schema: Schema.Schema.Any,
  path: ReadonlyArray<PropertyKey>,
): ReadonlyArray<string> => keysOf(schema.ast, path, 0);
