/**
 * Candidate planning: a spec's model choice (a profile, or an explicit provider+model) becomes an
 * ordered list of callable targets, skipping providers that are not configured; and the error
 * returned when every candidate failed.
 */
import { Either } from "effect";
import { type ModelChoice, ProviderError, type ProviderLookup } from "../../runtime/model.ts";
import type { Target } from "./attempt.ts";
import { builtinName, CATALOG, PROVIDER_NAMES } from "./catalog.ts";
import type { RoutingState } from "./hub.ts";
import { priceOf } from "./profiles.ts";

/** The candidates of a call, or why there are none. */
export type Plan = Either.Either<ReadonlyArray<Target>, ProviderError>;

const unavailable = (provider: string, detail: string, model?: string) =>
  new ProviderError({
    reason: "unavailable",
    provider,
    ...(model ? { model } : {}),
    retryable: false,
    detail,
  });

/** Resolves one provider+model to a callable target, or says why it cannot be called. */
const targetFor = (
  state: RoutingState,
  lookup: ProviderLookup,
  provider: string,
  model: string | undefined,
): Either.Either<Target, ProviderError> => {
  const builtin = builtinName(provider);
  if (builtin) {
    const resolved = state.config.providers[builtin];
    const driver = state.drivers.get(builtin);
    const pool = state.pools.get(builtin);
    const m = model ?? CATALOG[builtin].defaultModel;
    if (!resolved.configured || !driver || !pool)
      return Either.left(unavailable(builtin, `${builtin} is not available: ${resolved.howToConfigure}`, m));
    return Either.right({
      kind: "builtin",
      provider: builtin,
      model: m,
      driver,
      pool,
      settings: resolved,
      otelName: CATALOG[builtin].otelName,
      price: priceOf(state.config.profiles, builtin, m),
    });
  }
  const custom = state.config.custom[provider];
  if (custom) {
    const driver = state.drivers.get(provider);
    const pool = state.pools.get(provider);
    const m = model ?? custom.models[0]!;
    if (!custom.configured || !driver || !pool)
      return Either.left(unavailable(provider, `${provider} is not available: ${custom.howToConfigure}`, m));
    if (!custom.models.includes(m))
      return Either.left(
        new ProviderError({
          reason: "bad_request",
          provider,
          model: m,
          retryable: false,
          detail: `${provider} serves ${custom.models.join(", ")} (providers.${provider}.models), not ${m}`,
        }),
      );
    return Either.right({
      kind: "builtin",
      provider,
      model: m,
      driver,
      pool,
      settings: custom,
      otelName: provider,
      price: custom.prices[m] ?? priceOf(state.config.profiles, provider, m),
    });
  }
  const impl = lookup.get(provider);
  if (!impl)
    return Either.left(
      unavailable(
        provider,
        `unknown provider ${provider}; registered: ${[...new Set([...PROVIDER_NAMES, ...lookup.names()])].join(", ")}`,
      ),
    );
  const m = model ?? "";
  return Either.right({
    kind: "external",
    provider,
    model: m,
    impl,
    price: priceOf(state.config.profiles, provider, m),
  });
};

/** A choice's key among the plans, kept per choice object: an agent asks with the same one every step. */
const planKeys = new WeakMap<ModelChoice, string>();
const planKey = (choice: ModelChoice): string => {
  let key = planKeys.get(choice);
  if (key === undefined) {
    key =
      choice.provider !== undefined
        ? `p\u0000${choice.provider}\u0000${choice.model ?? ""}`
        : `f\u0000${choice.profile ?? ""}`;
    planKeys.set(choice, key);
  }
  return key;
};

/** Plans made for one routing state; a reload makes a new state, so stale plans are dropped with it. */
const memo = new WeakMap<RoutingState, Map<string, Plan>>();

/**
 * The ordered candidates for a choice. Unavailable candidates of a profile are skipped; when none
 * is left the error names what to set. Plans are memoized per routing state (a reload makes a new
 * one). A plan for one named plugin provider is kept while the lookup still returns that provider
 * (registrations come and go); a profile naming plugin providers is planned on every call.
 */
export const planCandidates = (state: RoutingState, lookup: ProviderLookup, choice: ModelChoice): Plan => {
  const key = planKey(choice);
  let plans = memo.get(state);
  const known = plans?.get(key);
  if (known !== undefined && (Either.isLeft(known) || stillRegistered(known.right, lookup))) return known;
  const plan = makePlan(state, lookup, choice);
  // A profile naming plugin providers may gain candidates when one registers: planned every time.
  if (!namesExternal(state, choice) || (choice.provider !== undefined && Either.isRight(plan))) {
    if (!plans) {
      plans = new Map();
      memo.set(state, plans);
    }
    plans.set(key, plan);
  }
  return plan;
};

/** Whether the choice names a provider that is neither built in nor configured (a plugin's). */
const namesExternal = (state: RoutingState, choice: ModelChoice): boolean => {
  const named =
    choice.provider !== undefined
      ? [choice.provider]
      : (state.config.profiles[choice.profile ?? state.config.routing.defaultProfile ?? ""] ?? []).map(
          (c) => c.provider,
        );
  return named.some((name) => builtinName(name) === undefined && !(name in state.config.custom));
};

/** A plan's plugin-registered targets are still the providers registered under their names. */
const stillRegistered = (targets: ReadonlyArray<Target>, lookup: ProviderLookup): boolean =>
  targets.every((t) => t.kind === "builtin" || lookup.get(t.provider) === t.impl);

const makePlan = (state: RoutingState, lookup: ProviderLookup, choice: ModelChoice): Plan => {
  if (choice.provider !== undefined)
    return Either.map(targetFor(state, lookup, choice.provider, choice.model), (t) => [t]);
  const profileName = choice.profile ?? state.config.routing.defaultProfile;
  if (profileName === undefined)
    return Either.left(
      new ProviderError({
        reason: "bad_request",
        provider: "router",
        retryable: false,
        detail: 'the model choice names neither a provider nor a profile (e.g. {"profile":"cheap"})',
      }),
    );
  const profile = state.config.profiles[profileName];
  if (!profile)
    return Either.left(
      new ProviderError({
        reason: "bad_request",
        provider: "router",
        retryable: false,
        detail: `no profile named ${profileName}; known: ${Object.keys(state.config.profiles).join(", ")}`,
      }),
    );
  const targets: Array<Target> = [];
  const missing: Array<string> = [];
  for (const candidate of profile) {
    const t = targetFor(state, lookup, candidate.provider, candidate.model);
    if (Either.isRight(t)) targets.push({ ...t.right, price: candidate });
    else missing.push(t.left.detail);
  }
  if (targets.length === 0)
    return Either.left(
      unavailable(
        "router",
        `no provider of profile ${profileName} is available: ${[...new Set(missing)].join("; ")}`,
      ),
    );
  return Either.right(targets);
};

/** Picks the error to return when every candidate failed: all rate-limited → the earliest retry. */
export const finalError = (errors: ReadonlyArray<ProviderError>): ProviderError => {
  const limited = errors.filter((e) => e.reason === "rate_limited" || e.reason === "circuit_open");
  if (errors.length > 1 && limited.length === errors.length) {
    const earliest = Math.min(...limited.map((e) => e.retryAfterMs ?? Number.POSITIVE_INFINITY));
    return new ProviderError({
      reason: "rate_limited",
      provider: "router",
      retryable: true,
      ...(Number.isFinite(earliest) ? { retryAfterMs: earliest } : {}),
      detail: `every candidate is rate-limited or open (${errors.map((e) => `${e.provider}/${e.model ?? "?"}`).join(", ")}); earliest retry in ${Number.isFinite(earliest) ? earliest : "?"} ms`,
    });
  }
  return errors[errors.length - 1]!;
};

/**
 * With `routing.arenaBias`, a profile's candidates ordered by their arena standing (`rating` by
 * `provider/model`, higher first); candidates without a standing keep their profile order after the
 * rated ones. Only the profile's own candidates are reordered: nothing is added or dropped.
 */
export const orderByStanding = (
  targets: ReadonlyArray<Target>,
  rating: ReadonlyMap<string, number>,
): ReadonlyArray<Target> => {
  const scored = targets.map((target, index) => ({
    target,
    index,
    rating: rating.get(`${target.provider}/${target.model}`),
  }));
  return scored
    .sort((a, b) =>
      a.rating !== undefined && b.rating !== undefined
        ? b.rating - a.rating || a.index - b.index
        : a.rating !== undefined
          ? -1
          : b.rating !== undefined
            ? 1
            : a.index - b.index,
    )
    .map((s) => s.target);
};
