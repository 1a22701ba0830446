/**
 * One way to turn an Effect Schema decoding error into `Problem`s located by JSON path, used by
 * every edge that validates input (tree specs, config sections, plugin spec sections, wire params).
 */
import type { ParseResult } from "effect";
import { ParseResult as PR } from "effect";
import type { Problem } from "./errors.ts";

/** `$.root.children[0].kind` from a root (`$`, `$.server`, `$.root.guardrails`) and path segments. */
export const jsonPath = (root: string, segments: ReadonlyArray<PropertyKey>): string =>
  `${root}${segments.map((s) => (typeof s === "number" ? `[${s}]` : `.${String(s)}`)).join("")}`;

export interface ProblemOptions {
  /** Where the decoded value sits (default `$`). */
  readonly root?: string;
  /** Said of a key the schema does not know (default: "unknown field (check its spelling)"). */
  readonly unknownKey?: string;
}

/**
 * The problems of a decoding error, one per path: a literal union's "Expected A / Expected B" become
 * "expected one of A, B; got X", other alternatives are joined with "; or ", and an optional field's
 * redundant "Expected undefined" is dropped when there is a better message for the same path.
 */
export const problemsOf = (
  error: ParseResult.ParseError,
  options: ProblemOptions = {},
): ReadonlyArray<Problem> => {
  const root = options.root ?? "$";
  const unknownKey = options.unknownKey ?? "unknown field (check its spelling)";
  const byPath = new Map<string, string[]>();
  for (const issue of PR.ArrayFormatter.formatErrorSync(error)) {
    const path = jsonPath(root, issue.path);
    const message =
      issue._tag === "Unexpected" || issue.message.startsWith("Expected never") ? unknownKey : issue.message;
    byPath.set(path, [...(byPath.get(path) ?? []), message]);
  }
  return [...byPath].map(([path, all]) => {
    const useful = all.length > 1 ? all.filter((m) => !/^Expected undefined, actual/.test(m)) : all;
    const messages = [...new Set(useful.length > 0 ? useful : all)];
    const expected = messages.map((m) => /^Expected (.+), actual (.+)$/.exec(m));
    if (messages.length > 1 && expected.every((m) => m !== null)) {
      return {
        path,
        message: `expected one of ${expected.map((m) => m![1]).join(", ")}; got ${expected[0]![2]}`,
      };
    }
    return { path, message: messages.join("; or ") };
  });
};
