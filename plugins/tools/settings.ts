/**
 * The `tools` section of the tree spec: which tools an agent may see and call, where the file
 * tools are confined, and limits. A subtree may narrow it, never widen it.
 *
 * ```json
 * "tools": { "allow": ["read_file", "list_dir", "mcp.everything.*"], "deny": ["write_file"],
 *            "root": "./workspace", "timeoutMs": 10000, "maxResultChars": 8000,
 *            "approve": ["write_file", "mcp.github.*"] }
 * ```
 * Names in `allow` / `deny` / `approve` are globs: `*` matches any run of characters. `approve` names
 * tools whose calls by a model wait for a person; like `deny` it accumulates down the tree (a
 * subtree may add approvals, never remove them).
 */
import { isAbsolute, relative, resolve } from "node:path";
import { Either, type ParseResult, Schema } from "effect";
import type { Problem } from "../../runtime/errors.ts";
import type { SpecSection } from "../../runtime/plugin.ts";
import { problemsOf } from "../../runtime/problems.ts";

const Positive = Schema.Number.pipe(Schema.int(), Schema.positive());

/** The section as written. */
export const ToolSettingsInput = Schema.Struct({
  allow: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  deny: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  approve: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  root: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1)), { exact: true }),
  timeoutMs: Schema.optionalWith(Positive, { exact: true }),
  maxResultChars: Schema.optionalWith(Positive, { exact: true }),
});

/** Resolved tool settings of one agent. `root` is an absolute path once resolved. */
export interface ToolSettings {
  readonly allow: ReadonlyArray<string> | undefined;
  readonly deny: ReadonlyArray<string>;
  /** Tools whose calls wait for a person's approval. */
  readonly approve: ReadonlyArray<string>;
  readonly root: string | undefined;
  readonly timeoutMs: number | undefined;
  readonly maxResultChars: number | undefined;
}

/** No restrictions beyond each tool's own permissions. */
export const defaultToolSettings: ToolSettings = {
  allow: undefined,
  deny: [],
  approve: [],
  root: undefined,
  timeoutMs: undefined,
  maxResultChars: undefined,
};

const globs = new Map<string, RegExp>();
const globOf = (pattern: string): RegExp => {
  let regex = globs.get(pattern);
  if (regex === undefined) {
    const body = pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*");
    regex = new RegExp(`^${body}$`);
    globs.set(pattern, regex);
  }
  return regex;
};

/** Whether `name` matches a glob pattern (`exact`, `prefix*`, `mcp.*.write`). */
export const nameMatches = (pattern: string, name: string): boolean =>
  pattern.includes("*") ? globOf(pattern).test(name) : pattern === name;

/** Whether the settings say a model's call of `name` waits for a person's approval. */
export const approvalRequired = (settings: ToolSettings, name: string): boolean =>
  settings.approve.some((p) => nameMatches(p, name));

/** Whether the settings let an agent use the tool named `name`. */
export const toolAllowed = (settings: ToolSettings, name: string): boolean =>
  (settings.allow === undefined || settings.allow.some((p) => nameMatches(p, name))) &&
  !settings.deny.some((p) => nameMatches(p, name));

const decode = Schema.decodeUnknownEither(ToolSettingsInput, { errors: "all", onExcessProperty: "error" });

const isResolved = (value: unknown): value is ToolSettings =>
  typeof value === "object" && value !== null && "deny" in value && "maxResultChars" in value;

const inside = (root: string, path: string) => {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
};

const resolveLevel = (above: ToolSettings, own: typeof ToolSettingsInput.Type): ToolSettings => {
  const min = (a: number | undefined, b: number | undefined) =>
    a === undefined ? b : b === undefined ? a : Math.min(a, b);
  return {
    allow: own.allow ?? above.allow,
    deny: [...new Set([...above.deny, ...(own.deny ?? [])])],
    approve: [...new Set([...above.approve, ...(own.approve ?? [])])],
    root: own.root === undefined ? above.root : resolve(above.root ?? process.cwd(), own.root),
    timeoutMs: min(above.timeoutMs, own.timeoutMs),
    maxResultChars: min(above.maxResultChars, own.maxResultChars),
  };
};

/**
 * Reads an agent's resolved settings (`AgentInfo.settings.tools`). Absent settings yield `base`
 * (the runtime config's level, else no restrictions).
 */
export const readToolSettings = (value: unknown, base: ToolSettings = defaultToolSettings): ToolSettings => {
  if (isResolved(value)) return value;
  if (value === undefined) return base;
  const decoded = decode(value);
  return Either.isRight(decoded) ? resolveLevel(defaultToolSettings, decoded.right) : base;
};

/** Schema issues as problems located below `path`. */
const toProblems = (error: ParseResult.ParseError, path: string): ReadonlyArray<Problem> =>
  problemsOf(error, { root: path, schema: ToolSettingsInput });

/**
 * Validates the runtime config's `tools` section (the level above every tree; its `root` is where
 * the file tools may work). A relative root is resolved against `cwd`.
 */
export const readToolConfig = (
  value: unknown,
  path = "config.tools",
  cwd = process.cwd(),
): Either.Either<ToolSettings | undefined, ReadonlyArray<Problem>> => {
  if (value === undefined) return Either.right(undefined);
  const decoded = decode(value);
  if (Either.isLeft(decoded)) return Either.left(toProblems(decoded.left, path));
  const own = decoded.right;
  return Either.right(
    resolveLevel(
      defaultToolSettings,
      own.root === undefined ? own : { ...own, root: resolve(cwd, own.root) },
    ),
  );
};

/**
 * Makes the spec section. Every level may only narrow the one above (`base`, the runtime config's
 * level, is above every tree): `allow` may only name tools allowed above, `deny` accumulates, `root`
 * must stay inside the root above, limits may only go down. A relative `root` is resolved against
 * the root above, or the working directory at the top.
 */
export const makeToolsSection = (base?: ToolSettings): SpecSection => ({
  key: "tools",
  validate: (value, path) =>
    Either.match(decode(value), { onLeft: (e) => toProblems(e, path), onRight: () => [] }),
  merge: (inherited, own, path) => {
    const above = readToolSettings(inherited, base);
    if (own === undefined) return { value: above };
    const decoded = decode(own);
    if (Either.isLeft(decoded)) return { problems: toProblems(decoded.left, path) };
    const merged = resolveLevel(above, decoded.right);
    const problems: Problem[] = [];
    const allowedAbove = above.allow;
    if (decoded.right.allow !== undefined && allowedAbove !== undefined) {
      const wider = decoded.right.allow.filter((p) => !allowedAbove.some((q) => nameMatches(q, p)));
      if (wider.length > 0)
        problems.push({
          path: `${path}.allow`,
          message: `cannot allow tools not allowed above: ${wider.join(", ")}`,
        });
    }
    if (above.root !== undefined && merged.root !== undefined && !inside(above.root, merged.root))
      problems.push({
        path: `${path}.root`,
        // The spec's own value and the root above relative to the configured one: no server path.
        message: `root ${decoded.right.root} is outside the root above (${relative(base?.root ?? process.cwd(), above.root) || "."})`,
      });
    for (const key of ["timeoutMs", "maxResultChars"] as const) {
      const was = above[key];
      const now = decoded.right[key];
      if (was !== undefined && now !== undefined && now > was)
        problems.push({ path: `${path}.${key}`, message: `cannot raise ${key} from ${was} to ${now}` });
    }
    return problems.length > 0 ? { problems } : { value: merged };
  },
});

/** The spec section for a runtime whose config has no `tools` section. */
export const toolsSection: SpecSection = makeToolsSection();
