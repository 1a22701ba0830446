/**
 * The `tripwires` section of the tree spec: thresholds, actions, and how a subtree tightens them.
 *
 * ```json
 * "tripwires": { "maxStepMs": 30000, "maxTokens": 200000, "maxToolCalls": 8, "maxChildren": 10,
 *                "maxDepth": 4, "action": "halt", "maxSpawnsPerMinute": { "limit": 30, "action": "warn" },
 *                "outputPatterns": ["BEGIN PRIVATE KEY"], "anomaly": { "metric": "tokens", "zScore": 4 } }
 * ```
 * A limit is a number (using the section's `action`, `halt` by default) or `{ "limit", "action" }`.
 */
import { Either, type ParseResult, Schema } from "effect";
import type { Problem } from "../../runtime/errors.ts";
import type { SpecSection } from "../../runtime/plugin.ts";
import { problemsOf } from "../../runtime/problems.ts";
import type { TripwireAction } from "../../runtime/tripwire.ts";

/** The limits a spec may set, with the measurement each compares against. */
export const limitKeys = [
  "maxStepMs",
  "maxTokens",
  "maxTreeTokens",
  "maxCostUsd",
  "maxTreeCostUsd",
  "maxToolCalls",
  "maxChildren",
  "maxDepth",
  "maxSpawnsPerMinute",
  "maxOutputChars",
] as const;

/** One of the limit names. */
export type LimitKey = (typeof limitKeys)[number];

const Action = Schema.Literal("warn", "halt", "stop-tree");
const Limit = Schema.Union(
  Schema.Number.pipe(Schema.nonNegative()),
  Schema.Struct({
    limit: Schema.Number.pipe(Schema.nonNegative()),
    action: Schema.optionalWith(Action, { exact: true }),
  }),
);
const Anomaly = Schema.Struct({
  metric: Schema.String,
  zScore: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { exact: true }),
  window: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.greaterThanOrEqualTo(3)), {
    exact: true,
  }),
  minSamples: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.greaterThanOrEqualTo(3)), {
    exact: true,
  }),
  action: Schema.optionalWith(Action, { exact: true }),
});

/** The section as written in a spec. */
export const TripwireSettingsInput = Schema.Struct({
  action: Schema.optionalWith(Action, { exact: true }),
  outputPatterns: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  outputPatternAction: Schema.optionalWith(Action, { exact: true }),
  anomaly: Schema.optionalWith(Schema.Array(Anomaly), { exact: true }),
  ...Object.fromEntries(limitKeys.map((key) => [key, Schema.optionalWith(Limit, { exact: true })])),
}) as unknown as Schema.Schema<TripwireSettingsWritten, unknown>;

type WrittenLimit = number | { readonly limit: number; readonly action?: TripwireAction };

/** The section as written, decoded. */
export interface TripwireSettingsWritten extends Partial<Record<LimitKey, WrittenLimit>> {
  readonly action?: TripwireAction;
  readonly outputPatterns?: ReadonlyArray<string>;
  readonly outputPatternAction?: TripwireAction;
  readonly anomaly?: ReadonlyArray<typeof Anomaly.Type>;
}

/** A resolved limit. */
export interface ResolvedLimit {
  readonly limit: number;
  readonly action: TripwireAction;
}

/** A resolved anomaly detector: flags a measurement more than `zScore` deviations from its recent mean. */
export interface AnomalySettings {
  readonly metric: string;
  readonly zScore: number;
  readonly window: number;
  readonly minSamples: number;
  readonly action: TripwireAction;
}

/** Resolved tripwire settings of one agent. */
export interface TripwireSettings {
  readonly limits: Partial<Record<LimitKey, ResolvedLimit>>;
  readonly outputPatterns: ReadonlyArray<{ readonly pattern: string; readonly action: TripwireAction }>;
  readonly anomaly: ReadonlyArray<AnomalySettings>;
}

/** No limits: tripwires apply only where a spec (or a registered default) sets them. */
export const emptyTripwireSettings: TripwireSettings = { limits: {}, outputPatterns: [], anomaly: [] };

const severity: Record<TripwireAction, number> = { warn: 0, halt: 1, "stop-tree": 2 };
const decode = Schema.decodeUnknownEither(TripwireSettingsInput, {
  errors: "all",
  onExcessProperty: "error",
});

const resolveLevel = (inherited: TripwireSettings, own: TripwireSettingsWritten): TripwireSettings => {
  const fallback = own.action ?? "halt";
  const limits: Partial<Record<LimitKey, ResolvedLimit>> = { ...inherited.limits };
  for (const key of limitKeys) {
    const written = own[key];
    if (written === undefined) continue;
    limits[key] =
      typeof written === "number"
        ? { limit: written, action: fallback }
        : { limit: written.limit, action: written.action ?? fallback };
  }
  const patternAction = own.outputPatternAction ?? fallback;
  const outputPatterns = [
    ...inherited.outputPatterns,
    ...(own.outputPatterns ?? [])
      .filter((p) => !inherited.outputPatterns.some((q) => q.pattern === p))
      .map((pattern) => ({ pattern, action: patternAction })),
  ];
  const anomaly = [
    ...inherited.anomaly,
    ...(own.anomaly ?? []).map((a) => ({
      metric: a.metric,
      zScore: a.zScore ?? 4,
      window: a.window ?? 50,
      minSamples: a.minSamples ?? 10,
      action: a.action ?? "warn",
    })),
  ];
  return { limits, outputPatterns, anomaly };
};

const loosening = (above: TripwireSettings, merged: TripwireSettings, path: string): Problem[] => {
  const problems: Problem[] = [];
  for (const key of limitKeys) {
    const was = above.limits[key];
    const now = merged.limits[key];
    if (was === undefined || now === undefined) continue;
    if (now.limit > was.limit)
      problems.push({
        path: `${path}.${key}`,
        message: `cannot raise ${key} from ${was.limit} to ${now.limit}`,
      });
    if (severity[now.action] < severity[was.action])
      problems.push({
        path: `${path}.${key}`,
        message: `cannot soften the action of ${key} from "${was.action}" to "${now.action}"`,
      });
  }
  return problems;
};

const isResolved = (value: unknown): value is TripwireSettings =>
  typeof value === "object" && value !== null && "limits" in value && "anomaly" in value;

/**
 * Reads an agent's resolved settings (`AgentInfo.settings.tripwires`). Absent settings yield `base`
 * (the runtime config's level, else no limits).
 */
export const readTripwireSettings = (
  value: unknown,
  base: TripwireSettings = emptyTripwireSettings,
): TripwireSettings => {
  if (isResolved(value)) return value;
  if (value === undefined) return base;
  const decoded = decode(value);
  return Either.isRight(decoded) ? resolveLevel(emptyTripwireSettings, decoded.right) : base;
};

/** Schema issues as problems located below `path`. */
const toProblems = (error: ParseResult.ParseError, path: string): ReadonlyArray<Problem> =>
  problemsOf(error, {
    root: path,
    schema: TripwireSettingsInput,
    unknownKey: "unknown tripwire (check its spelling)",
  });

const patternProblems = (own: TripwireSettingsWritten, path: string): Problem[] =>
  (own.outputPatterns ?? []).flatMap((source, i) => {
    try {
      new RegExp(source);
      return [];
    } catch {
      return [{ path: `${path}.outputPatterns[${i}]`, message: "not a valid regular expression" }];
    }
  });

/**
 * Validates the runtime config's `tripwires` section: limits that apply to every agent of every
 * tree, which specs may only tighten.
 */
export const readTripwireConfig = (
  value: unknown,
  path = "config.tripwires",
): Either.Either<TripwireSettings | undefined, ReadonlyArray<Problem>> => {
  if (value === undefined) return Either.right(undefined);
  const decoded = decode(value);
  if (Either.isLeft(decoded)) return Either.left(toProblems(decoded.left, path));
  const problems = patternProblems(decoded.right, path);
  return problems.length > 0
    ? Either.left(problems)
    : Either.right(resolveLevel(emptyTripwireSettings, decoded.right));
};

/**
 * Makes the spec section. A lower level may add limits, lower them, and make their actions more
 * severe (`warn` < `halt` < `stop-tree`); output patterns and anomaly detectors only accumulate.
 * `base` (the runtime config's level) is the level above every tree. The merged value is resolved.
 */
export const makeTripwiresSection = (base?: TripwireSettings): SpecSection => ({
  key: "tripwires",
  validate: (value, path) => {
    const decoded = decode(value);
    return Either.isLeft(decoded) ? toProblems(decoded.left, path) : patternProblems(decoded.right, path);
  },
  merge: (inherited, own, path) => {
    const above = readTripwireSettings(inherited, base);
    if (own === undefined) return { value: above };
    const decoded = decode(own);
    if (Either.isLeft(decoded)) return { problems: toProblems(decoded.left, path) };
    const merged = resolveLevel(above, decoded.right);
    const problems = loosening(above, merged, path);
    return problems.length > 0 ? { problems } : { value: merged };
  },
});

/** The spec section for a runtime whose config has no `tripwires` section. */
export const tripwiresSection: SpecSection = makeTripwiresSection();
