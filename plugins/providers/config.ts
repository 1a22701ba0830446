/**
 * The provider configuration: the `providers`, `profiles`, `budgets`, `cache` and `routing`
 * sections of `arbor.config.json`, merged with the environment (`<P>_API_KEY`, `<P>_API_KEYS`,
 * `<P>_API_KEY_1..N`, `<P>_BASE_URL`, `OLLAMA_BASE_URL`). The environment wins over the file, so
 * deployments can inject secrets without editing it.
 */

import { Either, Schema } from "effect";
import type { Problem } from "../../runtime/errors.ts";
import { problemsOf } from "../../runtime/problems.ts";
import { builtinName, CATALOG, PROVIDER_NAMES, type ProviderName } from "./catalog.ts";
import type { ProviderEndpoint } from "./driver.ts";
import { ProviderConfigError } from "./errors.ts";
import { DEFAULT_PROFILES } from "./profiles.ts";

const NonNegative = Schema.Number.pipe(Schema.nonNegative());
const Positive = Schema.Number.pipe(Schema.positive());
const RetryCount = Schema.Int.pipe(Schema.between(0, 10));
/** What a call does when every key of a provider is at its `rpm` / `tpm`: try the next candidate first, or wait here. */
const WhenLimited = Schema.Literal("fallback", "wait");

/** How calls to an endpoint are made: the same for built-in and custom providers. */
const CallSettings = {
  headers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  timeoutMs: Schema.optional(Positive),
  enabled: Schema.optional(Schema.Boolean),
  retries: Schema.optional(RetryCount),
  rpm: Schema.optional(Positive),
  tpm: Schema.optional(Positive),
  whenLimited: Schema.optional(WhenLimited),
};

/** One provider's settings in the file. */
const ProviderSettings = Schema.Struct({
  apiKey: Schema.optional(Schema.String),
  apiKeys: Schema.optional(Schema.Array(Schema.String)),
  baseUrl: Schema.optional(Schema.String),
  ...CallSettings,
});

/** What a model of a custom provider costs, USD per million tokens. */
const Price = Schema.Struct({
  inputCostPerMTok: Schema.optionalWith(NonNegative, { default: () => 0 }),
  outputCostPerMTok: Schema.optionalWith(NonNegative, { default: () => 0 }),
});

/**
 * Another endpoint speaking the OpenAI chat-completions format (vLLM, LM Studio, llama.cpp server,
 * a Qwen endpoint, a gateway), under a name of the user's choosing, beside the built-in providers.
 */
const CustomProviderSettings = Schema.Struct({
  kind: Schema.Literal("openai-compatible"),
  baseUrl: Schema.String.pipe(
    Schema.minLength(1, { message: () => "a base URL, e.g. http://127.0.0.1:8000/v1" }),
  ),
  /** The environment variable holding the key (or several, comma-separated); none for a keyless server. */
  apiKeyEnv: Schema.optional(Schema.String.pipe(Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]*$/))),
  apiKey: Schema.optional(Schema.String),
  apiKeys: Schema.optional(Schema.Array(Schema.String)),
  models: Schema.Array(Schema.String.pipe(Schema.minLength(1))).pipe(
    Schema.minItems(1, { message: () => "list the models this endpoint serves (the first is the default)" }),
  ),
  prices: Schema.optional(Schema.Record({ key: Schema.String, value: Price })),
  ...CallSettings,
});

/** One entry of a profile: a provider+model and what it costs per million tokens (USD). */
export const Candidate = Schema.Struct({
  provider: Schema.String,
  model: Schema.String,
  inputCostPerMTok: Schema.optionalWith(NonNegative, { default: () => 0 }),
  outputCostPerMTok: Schema.optionalWith(NonNegative, { default: () => 0 }),
});
/** A profile candidate after validation. */
export type Candidate = typeof Candidate.Type;

/** A token and/or cost ceiling. */
export const BudgetLimit = Schema.Struct({
  maxTokens: Schema.optional(Positive),
  maxCostUsd: Schema.optional(Positive),
  /** A window that starts afresh each UTC day or month; without it, the limit counts from startup. */
  per: Schema.optional(Schema.Literal("day", "month")),
});
/** A budget limit after validation. */
export type BudgetLimit = typeof BudgetLimit.Type;

const Sections = Schema.Struct({
  // Each entry is decoded on its own below: built-in settings, or a custom provider (with `kind`).
  providers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  profiles: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Array(Candidate) })),
  budgets: Schema.optional(
    Schema.Struct({
      perTree: Schema.optional(BudgetLimit),
      perTenant: Schema.optional(BudgetLimit),
      tenants: Schema.optional(Schema.Record({ key: Schema.String, value: BudgetLimit })),
    }),
  ),
  cache: Schema.optional(
    Schema.Struct({
      enabled: Schema.optional(Schema.Boolean),
      ttlMs: Schema.optional(Positive),
      maxEntries: Schema.optional(Positive),
    }),
  ),
  routing: Schema.optional(
    Schema.Struct({
      defaultProfile: Schema.optional(Schema.String),
      timeoutMs: Schema.optional(Positive),
      cooldownBaseMs: Schema.optional(Positive),
      cooldownMaxMs: Schema.optional(Positive),
      circuitFailureThreshold: Schema.optional(Positive),
      circuitCoolOffMs: Schema.optional(Positive),
      circuitSuccessThreshold: Schema.optional(Positive),
      retries: Schema.optional(RetryCount),
      retryBaseMs: Schema.optional(Positive),
      retryMaxMs: Schema.optional(Positive),
      maxRetryAfterMs: Schema.optional(NonNegative),
      arenaBias: Schema.optional(Schema.Boolean),
    }),
  ),
});

/** One provider (built-in or custom), resolved. `keys` are secrets: never print them (use `fingerprint`). */
export interface ResolvedProvider {
  readonly name: string;
  /** Has keys (or, for Ollama, a base URL) and is not disabled. */
  readonly configured: boolean;
  readonly keys: ReadonlyArray<string>;
  readonly endpoint: ProviderEndpoint;
  /** What to set to make it available, for error messages and status. */
  readonly howToConfigure: string;
  /** Retries on the same candidate after a 5xx, a timeout or a network error. */
  readonly retries: number;
  /** Outbound limits of each key (requests and tokens per minute), and what a call does at them. */
  readonly limits: KeyLimits;
}

/** A custom OpenAI-compatible provider, resolved. */
export interface CustomProvider extends ResolvedProvider {
  readonly kind: "openai-compatible";
  /** The models it serves; the first is the default. */
  readonly models: ReadonlyArray<string>;
  readonly prices: Readonly<
    Record<string, { readonly inputCostPerMTok: number; readonly outputCostPerMTok: number }>
  >;
}

/** Per-key outbound limits. */
export interface KeyLimits {
  readonly rpm?: number;
  readonly tpm?: number;
  readonly whenLimited: "fallback" | "wait";
}

/** Router settings with defaults applied. */
export interface RoutingSettings {
  readonly defaultProfile?: string;
  readonly timeoutMs: number;
  readonly cooldownBaseMs: number;
  readonly cooldownMaxMs: number;
  readonly circuitFailureThreshold: number;
  readonly circuitCoolOffMs: number;
  readonly circuitSuccessThreshold: number;
  /** Retries of providers that set none (plugin-registered ones included). */
  readonly retries: number;
  /** Backoff before retry n is `retryBaseMs · 2^n` (at most `retryMaxMs`), times a jitter in [0.5, 1). */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** A rate limit that frees up within this many ms is waited out when nothing else can serve. */
  readonly maxRetryAfterMs: number;
  /** Order a profile's candidates by their arena standing (best first). */
  readonly arenaBias: boolean;
}

/** The whole provider configuration, resolved. */
export interface ProvidersConfig {
  readonly providers: Readonly<Record<ProviderName, ResolvedProvider>>;
  /** Custom providers (`providers.<name>` with `kind: "openai-compatible"`), by name. */
  readonly custom: Readonly<Record<string, CustomProvider>>;
  readonly profiles: Readonly<Record<string, ReadonlyArray<Candidate>>>;
  readonly budgets: {
    readonly perTree?: BudgetLimit;
    readonly perTenant?: BudgetLimit;
    readonly tenants: Readonly<Record<string, BudgetLimit>>;
  };
  readonly cache: { readonly enabled: boolean; readonly ttlMs: number; readonly maxEntries: number };
  readonly routing: RoutingSettings;
}

/** The environment as a plain map (`process.env` fits). */
export type Env = Readonly<Record<string, string | undefined>>;

/** The keys in one variable's value: comma-separated, trimmed, without blanks or duplicates. */
const keysFromValue = (value: string | undefined): ReadonlyArray<string> =>
  (value ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k, i, all) => k !== "" && all.indexOf(k) === i);

/** All keys the environment holds for a prefix, in order, without duplicates or blanks. */
export const keysFromEnv = (env: Env, prefix: string): ReadonlyArray<string> => {
  const found: Array<string> = [];
  const add = (value: string | undefined) => {
    for (const part of (value ?? "").split(",")) {
      const key = part.trim();
      if (key && !found.includes(key)) found.push(key);
    }
  };
  add(env[`${prefix}_API_KEYS`]);
  add(env[`${prefix}_API_KEY`]);
  for (let i = 1; env[`${prefix}_API_KEY_${i}`] !== undefined; i++) add(env[`${prefix}_API_KEY_${i}`]);
  return found;
};

/**
 * Validates the provider sections of the runtime config and merges the environment.
 * Gotcha: unknown provider names under `providers` are refused (a typo would silently leave a
 * provider unconfigured) unless the entry declares `kind: "openai-compatible"`; profiles may name
 * any provider, including custom and plugin-registered ones.
 */
export const loadProvidersConfig = (
  raw: Readonly<Record<string, unknown>>,
  env: Env,
): Either.Either<ProvidersConfig, ProviderConfigError> => {
  const decoded = Schema.decodeUnknownEither(Sections, { onExcessProperty: "error" })({
    providers: raw.providers,
    profiles: raw.profiles,
    budgets: raw.budgets,
    cache: raw.cache,
    routing: raw.routing,
  });
  if (Either.isLeft(decoded))
    return Either.left(
      new ProviderConfigError({ reason: "invalid_config", problems: problemsOf(decoded.left) }),
    );
  const file = decoded.right;
  const problems: Array<Problem> = [];
  const builtinSettings: Partial<Record<ProviderName, typeof ProviderSettings.Type>> = {};
  const customSettings: Record<string, typeof CustomProviderSettings.Type> = {};
  for (const [name, value] of Object.entries(file.providers ?? {})) {
    const path = `$.providers.${name}`;
    const custom = typeof value === "object" && value !== null && "kind" in value;
    const isBuiltin = (PROVIDER_NAMES as ReadonlyArray<string>).includes(name);
    if (custom && (isBuiltin || builtinName(name) !== undefined || name === "scripted")) {
      problems.push({
        path: `${path}.kind`,
        message: `${name} is a built-in provider's name; choose another`,
      });
      continue;
    }
    if (!custom && !isBuiltin) {
      problems.push({
        path,
        message: `unknown provider; known: ${PROVIDER_NAMES.join(", ")} (for another OpenAI-compatible endpoint set "kind": "openai-compatible", "baseUrl" and "models")`,
      });
      continue;
    }
    const schema = custom ? CustomProviderSettings : ProviderSettings;
    const one = Schema.decodeUnknownEither(schema as Schema.Schema<unknown>, {
      errors: "all",
      onExcessProperty: "error",
    })(value);
    if (Either.isLeft(one)) {
      problems.push(...problemsOf(one.left, { root: path }));
      continue;
    }
    if (custom) customSettings[name] = one.right as typeof CustomProviderSettings.Type;
    else builtinSettings[name as ProviderName] = one.right as typeof ProviderSettings.Type;
  }
  for (const [name, list] of Object.entries(file.profiles ?? {}))
    if (list.length === 0)
      problems.push({ path: `$.profiles.${name}`, message: "a profile needs at least one candidate" });
  const defaultProfile = file.routing?.defaultProfile;
  const profiles = { ...DEFAULT_PROFILES, ...file.profiles };
  if (defaultProfile !== undefined && !(defaultProfile in profiles))
    problems.push({ path: "$.routing.defaultProfile", message: `no profile named ${defaultProfile}` });
  if (problems.length > 0)
    return Either.left(new ProviderConfigError({ reason: "invalid_config", problems }));

  const timeoutMs = file.routing?.timeoutMs ?? 60_000;
  const retries = file.routing?.retries ?? 2;
  const providers = Object.fromEntries(
    PROVIDER_NAMES.map((name): [ProviderName, ResolvedProvider] => {
      const entry = CATALOG[name];
      const settings = builtinSettings[name];
      const envKeys = keysFromEnv(env, entry.envPrefix);
      const fileKeys = [...(settings?.apiKeys ?? []), ...(settings?.apiKey ? [settings.apiKey] : [])];
      const keys = entry.keyless ? [] : envKeys.length > 0 ? envKeys : fileKeys;
      const baseUrl = env[`${entry.envPrefix}_BASE_URL`] || settings?.baseUrl || entry.defaultBaseUrl || "";
      const enabled = settings?.enabled ?? true;
      return [
        name,
        {
          name,
          configured: enabled && (entry.keyless ? baseUrl !== "" : keys.length > 0),
          keys,
          endpoint: {
            baseUrl,
            headers: { ...entry.defaultHeaders, ...settings?.headers },
            timeoutMs: settings?.timeoutMs ?? timeoutMs,
          },
          howToConfigure: !enabled
            ? `${name} is disabled in arbor.config.json (providers.${name}.enabled)`
            : entry.keyless
              ? `set ${entry.envPrefix}_BASE_URL (e.g. http://127.0.0.1:11434)`
              : `set ${entry.envPrefix}_API_KEY (or ${entry.envPrefix}_API_KEYS, ${entry.envPrefix}_API_KEY_1..N)`,
          retries: settings?.retries ?? retries,
          limits: {
            ...(settings?.rpm !== undefined ? { rpm: settings.rpm } : {}),
            ...(settings?.tpm !== undefined ? { tpm: settings.tpm } : {}),
            whenLimited: settings?.whenLimited ?? "fallback",
          },
        },
      ];
    }),
  ) as Record<ProviderName, ResolvedProvider>;

  const custom = Object.fromEntries(
    Object.entries(customSettings).map(([name, c]): [string, CustomProvider] => {
      const keys = [
        ...(c.apiKeyEnv ? keysFromValue(env[c.apiKeyEnv]) : []),
        ...(c.apiKeys ?? []),
        ...(c.apiKey ? [c.apiKey] : []),
      ].filter((k, i, all) => all.indexOf(k) === i);
      const enabled = c.enabled ?? true;
      return [
        name,
        {
          name,
          kind: "openai-compatible",
          // Keys are optional: local servers (vLLM, llama.cpp) usually take none.
          configured: enabled && (!c.apiKeyEnv || keys.length > 0),
          keys,
          endpoint: { baseUrl: c.baseUrl, headers: { ...c.headers }, timeoutMs: c.timeoutMs ?? timeoutMs },
          howToConfigure: !enabled
            ? `${name} is disabled in arbor.config.json (providers.${name}.enabled)`
            : `set ${c.apiKeyEnv ?? "its key"} (providers.${name}.apiKeyEnv)`,
          retries: c.retries ?? retries,
          limits: {
            ...(c.rpm !== undefined ? { rpm: c.rpm } : {}),
            ...(c.tpm !== undefined ? { tpm: c.tpm } : {}),
            whenLimited: c.whenLimited ?? "fallback",
          },
          models: c.models,
          prices: c.prices ?? {},
        },
      ];
    }),
  );

  return Either.right({
    providers,
    custom,
    profiles,
    budgets: {
      ...(file.budgets?.perTree ? { perTree: file.budgets.perTree } : {}),
      ...(file.budgets?.perTenant ? { perTenant: file.budgets.perTenant } : {}),
      tenants: file.budgets?.tenants ?? {},
    },
    cache: {
      enabled: file.cache?.enabled ?? false,
      ttlMs: file.cache?.ttlMs ?? 300_000,
      maxEntries: file.cache?.maxEntries ?? 1000,
    },
    routing: {
      ...(defaultProfile !== undefined ? { defaultProfile } : {}),
      timeoutMs,
      cooldownBaseMs: file.routing?.cooldownBaseMs ?? 1000,
      cooldownMaxMs: file.routing?.cooldownMaxMs ?? 60_000,
      circuitFailureThreshold: file.routing?.circuitFailureThreshold ?? 5,
      circuitCoolOffMs: file.routing?.circuitCoolOffMs ?? 30_000,
      circuitSuccessThreshold: file.routing?.circuitSuccessThreshold ?? 2,
      retries,
      retryBaseMs: file.routing?.retryBaseMs ?? 250,
      retryMaxMs: file.routing?.retryMaxMs ?? 4000,
      maxRetryAfterMs: file.routing?.maxRetryAfterMs ?? 10_000,
      arenaBias: file.routing?.arenaBias ?? false,
    },
  });
};
