/**
 * The `guardrails` section of the tree spec and config: its schema, its defaults, and how a lower
 * level combines with a higher one (add or tighten, never loosen).
 *
 * ```json
 * "guardrails": { "pii": "network", "injection": true, "deny": ["rm -rf"], "allow": ["support@arbor\\.dev"],
 *                 "maxInputChars": 20000, "maxOutputChars": 20000, "fatal": false }
 * ```
 */
import { Either, type ParseResult, Schema } from "effect";
import type { Problem } from "../../runtime/errors.ts";
import type { SpecSection } from "../../runtime/plugin.ts";
import { problemsOf } from "../../runtime/problems.ts";

/**
 * When PII is redacted: `network` (the default) for text sent to a network model provider,
 * `always` for every text, `off` for never (only a tree's top level may say so, and the run says so).
 * `true` means `network`, `false` means `off`.
 */
export type PiiMode = "off" | "network" | "always";

const PiiModeSchema = Schema.Union(Schema.Literal("off", "network", "always"), Schema.Boolean);

const Pattern = Schema.String.pipe(
  Schema.filter((source) => {
    try {
      new RegExp(source);
      return true;
    } catch (error) {
      return `not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`;
    }
  }),
);

const Chars = Schema.Number.pipe(Schema.int(), Schema.positive());

/** The section as written in a spec. */
export const GuardrailSettingsInput = Schema.Struct({
  pii: Schema.optionalWith(PiiModeSchema, { exact: true }),
  injection: Schema.optionalWith(Schema.Boolean, { exact: true }),
  deny: Schema.optionalWith(Schema.Array(Pattern), { exact: true }),
  allow: Schema.optionalWith(Schema.Array(Pattern), { exact: true }),
  maxInputChars: Schema.optionalWith(Chars, { exact: true }),
  maxOutputChars: Schema.optionalWith(Chars, { exact: true }),
  fatal: Schema.optionalWith(Schema.Boolean, { exact: true }),
});

/** Resolved guardrail settings of one agent, defaults filled in. */
export interface GuardrailSettings {
  readonly pii: PiiMode;
  readonly injection: boolean;
  readonly deny: ReadonlyArray<string>;
  /** Substrings matching these are exempt from deny patterns and PII redaction; a lower level may only narrow it. */
  readonly allow: ReadonlyArray<string> | undefined;
  readonly maxInputChars: number | undefined;
  readonly maxOutputChars: number | undefined;
  readonly fatal: boolean;
}

/** The defaults: PII redacted on the way to network providers, injection heuristics on, nothing denied. */
export const defaultGuardrailSettings: GuardrailSettings = {
  pii: "network",
  injection: true,
  deny: [],
  allow: undefined,
  maxInputChars: undefined,
  maxOutputChars: undefined,
  fatal: false,
};

const decode = Schema.decodeUnknownEither(GuardrailSettingsInput, {
  errors: "all",
  onExcessProperty: "error",
});

/** Schema issues as problems located below `path`. */
const toProblems = (error: ParseResult.ParseError, path: string): ReadonlyArray<Problem> =>
  problemsOf(error, { root: path, schema: GuardrailSettingsInput });

const piiMode = (value: PiiMode | boolean | undefined, fallback: PiiMode): PiiMode =>
  value === undefined ? fallback : value === true ? "network" : value === false ? "off" : value;

const isResolved = (value: unknown): value is GuardrailSettings =>
  typeof value === "object" && value !== null && "fatal" in value && "maxOutputChars" in value;

const piiRank: Record<PiiMode, number> = { off: 0, network: 1, always: 2 };

/**
 * Reads an agent's resolved settings (`AgentInfo.settings.guardrails`). Absent settings yield
 * `base` (the runtime config's level, else the defaults); validation happens when the spec loads.
 */
export const readGuardrailSettings = (
  value: unknown,
  base: GuardrailSettings = defaultGuardrailSettings,
): GuardrailSettings => {
  if (isResolved(value)) return value;
  if (value === undefined) return base;
  return Either.match(decode(value), {
    onLeft: () => base,
    onRight: (input) => applyLevel(undefined, input),
  });
};

/**
 * Validates the runtime config's `guardrails` section: the level above every tree. Absent means
 * none (trees start from the defaults, and a tree's root may turn PII redaction off).
 */
export const readGuardrailConfig = (
  value: unknown,
  path = "config.guardrails",
): Either.Either<GuardrailSettings | undefined, ReadonlyArray<Problem>> => {
  if (value === undefined) return Either.right(undefined);
  return Either.match(decode(value), {
    onLeft: (error) => Either.left(toProblems(error, path)),
    onRight: (input) => Either.right(applyLevel(undefined, input)),
  });
};

const applyLevel = (
  inherited: GuardrailSettings | undefined,
  own: typeof GuardrailSettingsInput.Type,
): GuardrailSettings => {
  const base = inherited ?? defaultGuardrailSettings;
  const min = (a: number | undefined, b: number | undefined) =>
    a === undefined ? b : b === undefined ? a : Math.min(a, b);
  return {
    pii: piiMode(own.pii, base.pii),
    injection: own.injection ?? base.injection,
    deny: [...new Set([...base.deny, ...(own.deny ?? [])])],
    allow: own.allow ?? base.allow,
    maxInputChars: min(base.maxInputChars, own.maxInputChars),
    maxOutputChars: min(base.maxOutputChars, own.maxOutputChars),
    fatal: own.fatal ?? base.fatal,
  };
};

const loosening = (
  inherited: GuardrailSettings,
  own: typeof GuardrailSettingsInput.Type,
  path: string,
): ReadonlyArray<Problem> => {
  const problems: Problem[] = [];
  const at = (key: string, message: string) => problems.push({ path: `${path}.${key}`, message });
  const pii = piiMode(own.pii, inherited.pii);
  if (piiRank[pii] < piiRank[inherited.pii])
    at("pii", `cannot loosen PII redaction from "${inherited.pii}" to "${pii}" below the tree's top level`);
  if (inherited.injection && own.injection === false)
    at("injection", "cannot turn off prompt-injection checks set above");
  if (inherited.fatal && own.fatal === false) at("fatal", "cannot make violations non-fatal when set above");
  if (own.allow !== undefined) {
    const above = inherited.allow;
    const extra = above === undefined ? own.allow : own.allow.filter((p) => !above.includes(p));
    if (extra.length > 0) at("allow", `cannot add allow patterns not allowed above: ${extra.join(", ")}`);
  }
  for (const key of ["maxInputChars", "maxOutputChars"] as const) {
    const above = inherited[key];
    const mine = own[key];
    if (above !== undefined && mine !== undefined && mine > above)
      at(key, `cannot raise ${key} from ${above} to ${mine}`);
  }
  return problems;
};

/**
 * Makes the spec section. The top level — the runtime config when it has a `guardrails` section
 * (`base`), else a tree's root (nothing inherited and no `children[` in the path) — may turn PII
 * redaction off explicitly; below it every level may only add or tighten, starting from the
 * defaults when nothing above set the section. The merged value is resolved (`GuardrailSettings`).
 */
export const makeGuardrailsSection = (base?: GuardrailSettings): SpecSection => ({
  key: "guardrails",
  validate: (value, path) =>
    Either.match(decode(value), { onLeft: (e) => toProblems(e, path), onRight: () => [] }),
  merge: (inherited, own, path) => {
    const top = inherited === undefined && base === undefined && !path.includes("children[");
    const above = top ? undefined : readGuardrailSettings(inherited, base);
    if (own === undefined) return { value: above ?? defaultGuardrailSettings };
    const decoded = decode(own);
    if (Either.isLeft(decoded)) return { problems: toProblems(decoded.left, path) };
    if (above === undefined) return { value: applyLevel(undefined, decoded.right) };
    const problems = loosening(above, decoded.right, path);
    return problems.length > 0 ? { problems } : { value: applyLevel(above, decoded.right) };
  },
});

/** The spec section for a runtime whose config has no `guardrails` section. */
export const guardrailsSection: SpecSection = makeGuardrailsSection();
