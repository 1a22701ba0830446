/**
 * One way to turn an Effect Schema decoding error into `Problem`s located by JSON path, used by
 * every edge that validates input (tree specs, config sections, plugin spec sections, wire params).
 */
import type { ParseResult, Schema } from "effect";
import { ParseResult as PR } from "effect";
import type { Problem } from "./errors.ts";
import { closest, didYouMean, knownKeys } from "./suggest.ts";

/** `$.root.children[0].kind` from a root (`$`, `$.server`, `$.root.guardrails`) and path segments. */
export const jsonPath = (root: string, segments: ReadonlyArray<PropertyKey>): string =>
  `${root}${segments.map((s) => (typeof s === "number" ? `[${s}]` : `.${String(s)}`)).join("")}`;

export interface ProblemOptions {
  /** Where the decoded value sits (default `$`). */
  readonly root?: string;
  /** Said of a key the schema does not know (default: "unknown field (check its spelling)"). */
  readonly unknownKey?: string;
  /** The schema decoded with: an unknown key then gets "did you mean …?" from the keys it knows there. */
  readonly schema?: Schema.Schema.Any;
}

/** Most issues read from one error, and most problems reported: a huge bad value gets a sample. */
const maxIssues = 200;
const maxProblems = 20;
/** Longest text quoted from a bad value or path; the rest is cut with "…". */
const maxQuoted = 240;
const clip = (text: string): string => (text.length > maxQuoted ? `${text.slice(0, maxQuoted)}…` : text);

const quotedLiterals = (list: string): ReadonlyArray<string> =>
  [...list.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);

/**
 * The problems of a decoding error, one per path: a literal union's "Expected A / Expected B" become
 * "expected one of A, B; got X", other alternatives are joined with "; or ", and an optional field's
 * redundant "Expected undefined" is dropped when there is a better message for the same path or a
 * deeper one (so a bad field is one line, not also a line quoting its whole parent). An unknown key
 * and a misspelled literal get "did you mean …?" when a known one is close.
 */
export const problemsOf = (
  error: ParseResult.ParseError,
  options: ProblemOptions = {},
): ReadonlyArray<Problem> => {
  const root = options.root ?? "$";
  const unknownKey = options.unknownKey ?? "unknown field (check its spelling)";
  const byPath = new Map<string, string[]>();
  let issues: ReadonlyArray<PR.ArrayFormatterIssue>;
  try {
    issues = PR.ArrayFormatter.formatErrorSync(error);
  } catch {
    // Describing the value recursed past the stack: say so rather than fail the caller.
    return [{ path: root, message: "invalid, and too deeply nested or too large to describe" }];
  }
  for (const issue of issues.slice(0, maxIssues)) {
    const path = clip(jsonPath(root, issue.path));
    const unknown = issue._tag === "Unexpected" || issue.message.startsWith("Expected never");
    const key = issue.path[issue.path.length - 1];
    const suggestion =
      unknown && options.schema !== undefined && typeof key === "string"
        ? didYouMean(key, knownKeys(options.schema, issue.path.slice(0, -1)))
        : "";
    const message = !unknown ? clip(issue.message) : suggestion ? `unknown field${suggestion}` : unknownKey;
    byPath.set(path, [...(byPath.get(path) ?? []), message]);
  }
  const paths = [...byPath.keys()];
  const hasDeeper = (path: string) =>
    paths.some((p) => p !== path && (p.startsWith(`${path}.`) || p.startsWith(`${path}[`)));
  for (const [path, all] of byPath) {
    const kept = all.filter((m) => !/^Expected undefined, actual/.test(m));
    if (kept.length === 0 && hasDeeper(path)) byPath.delete(path);
  }
  const more =
    issues.length > maxIssues
      ? [{ path: root, message: `… and more problems (${issues.length} in all)` }]
      : [];
  const shown = [...byPath].slice(0, maxProblems);
  const hidden = byPath.size - shown.length;
  const rest =
    hidden > 0 && more.length === 0 ? [{ path: root, message: `… and ${hidden} more problems` }] : more;
  return [
    ...shown.map(([path, all]) => {
      const useful = all.length > 1 ? all.filter((m) => !/^Expected undefined, actual/.test(m)) : all;
      const messages = [...new Set(useful.length > 0 ? useful : all)];
      const expected = messages.map((m) => /^Expected (.+), actual (.+)$/.exec(m));
      if (messages.length > 1 && expected.every((m) => m !== null)) {
        const literals = expected.flatMap((m) => quotedLiterals(m![1]!));
        const got = expected[0]![2]!;
        const typo = /^"(.*)"$/.exec(got)?.[1];
        const match = typo === undefined ? undefined : closest(typo, literals);
        return {
          path,
          message: `expected one of ${expected.map((m) => m![1]).join(", ")}; got ${got}${match === undefined ? "" : `; did you mean "${match}"?`}`,
        };
      }
      return { path, message: messages.join("; or ") };
    }),
    ...rest,
  ];
};
