/**
 * How deep objects and arrays sit inside each other, checked without recursion. Every edge that
 * takes structured input (WebSocket frames, spec files, tool arguments from a model) measures it
 * first, because the code that decodes or describes a value recurses into it: a value nested a few
 * thousand levels deep would otherwise overflow the stack of whatever walks it next.
 */
import type { Problem } from "./errors.ts";
import { jsonPath } from "./problems.ts";

/** Nesting accepted in a tree spec: room for `limits.maxDepth` (at most 256) agents below each other. */
export const specMaxNesting = 600;

/** The longest path quoted in a problem; a longer one keeps its start and end around "…". */
const maxPathLength = 160;

interface Frame {
  readonly value: unknown;
  readonly depth: number;
  readonly key: PropertyKey | undefined;
  readonly parent: Frame | undefined;
}

const pathOf = (frame: Frame, root: string): string => {
  const segments: PropertyKey[] = [];
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) segments.push(f.key);
  const path = jsonPath(root, segments.reverse());
  return path.length <= maxPathLength
    ? path
    : `${path.slice(0, maxPathLength / 2)}…${path.slice(path.length - maxPathLength / 2)}`;
};

const tooDeep = (frame: Frame, limit: number, root: string): Problem => ({
  path: pathOf(frame, root),
  message: `nested too deep: more than ${limit} levels of objects and arrays inside each other`,
});

/** A value that contains itself always ends up too deep: find where it first repeats on the way down. */
const cycleProblem = (frame: Frame, root: string): Problem | undefined => {
  const chain: Frame[] = [];
  for (let f: Frame | undefined = frame; f !== undefined; f = f.parent) chain.push(f);
  const seen = new Set<unknown>();
  for (const f of chain.reverse()) {
    if (seen.has(f.value))
      return { path: pathOf(f, root), message: "cycle: this object contains itself; a tree must be finite" };
    seen.add(f.value);
  }
  return undefined;
};

/**
 * The first place where `value` nests objects/arrays more than `limit` levels deep (the value itself is
 * level 1), as a problem located by JSON path below `root`; `undefined` when it is within the limit.
 * A value that contains itself (YAML aliases, objects built in code) is reported as a cycle where it
 * first repeats. Gotcha: shared sub-objects are walked once per reference.
 */
export const nestingProblem = (value: unknown, limit: number, root = "$"): Problem | undefined => {
  const stack: Frame[] = [{ value, depth: 1, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const current = frame.value;
    if (typeof current !== "object" || current === null) continue;
    if (frame.depth > limit) return cycleProblem(frame, root) ?? tooDeep(frame, limit, root);
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--)
        stack.push({ value: current[i], depth: frame.depth + 1, key: i, parent: frame });
    } else {
      for (const key of Object.keys(current).reverse())
        stack.push({
          value: (current as Record<string, unknown>)[key],
          depth: frame.depth + 1,
          key,
          parent: frame,
        });
    }
  }
  return undefined;
};
