/**
 * The economic router: a `ModelRouter` that turns a spec's model choice (a profile, or an explicit
 * provider+model) into an ordered list of candidates and walks it — budgets first, then the cache,
 * then each candidate with key rotation, falling back on retryable errors (429 everywhere, 5xx,
 * timeouts, network, open circuits) and returning non-retryable ones (400, 401, content policy).
 * Any provider registered with the host is reachable by name, built-in or not (`scripted`).
 */
import { Clock, Effect, Either, Stream } from "effect";
import {
  type CallContext,
  type EmbedRequest,
  type EmbedResponse,
  type ModelChoice,
  type ModelRequest,
  type ModelResponse,
  type ModelRouter,
  type ModelStreamEvent,
  ProviderError,
  type ProviderLookup,
} from "../../runtime/model.ts";
import { attempt, type CallInfo, eventBase, type Report, type Target } from "./attempt.ts";
import { builtinName, CATALOG, PROVIDER_NAMES } from "./catalog.ts";
import type { ProviderHub, RoutingState } from "./hub.ts";
import { priceOf } from "./profiles.ts";
import { cacheKey } from "./response-cache.ts";

type Plan = Either.Either<ReadonlyArray<Target>, ProviderError>;

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
      price: priceOf(state.config.profiles, builtin, m),
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

/**
 * The ordered candidates for a choice. Unavailable candidates of a profile are skipped; when none
 * is left the error names what to set.
 */
export const planCandidates = (state: RoutingState, lookup: ProviderLookup, choice: ModelChoice): Plan => {
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
const finalError = (errors: ReadonlyArray<ProviderError>): ProviderError => {
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

/** Walks the candidates in order, falling back on retryable errors. */
const walk = <A>(
  hub: ProviderHub,
  targets: ReadonlyArray<Target>,
  context: CallContext | undefined,
  one: (target: Target) => Effect.Effect<A, ProviderError>,
): Effect.Effect<A, ProviderError> =>
  Effect.gen(function* () {
    const errors: Array<ProviderError> = [];
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      const result = yield* Effect.either(one(target));
      if (result._tag === "Right") return result.right;
      errors.push(result.left);
      const next = targets[i + 1];
      if (!result.left.retryable || !next) break;
      yield* hub.events.publish({
        ...eventBase(context),
        type: "provider.fallback",
        from: `${target.provider}/${target.model}`,
        to: `${next.provider}/${next.model}`,
        reason: result.left.reason,
      });
    }
    return yield* finalError(errors);
  });

/** Fails when a budget that applies to the caller is used up, and publishes `budget.exceeded`. */
const checkBudget = (hub: ProviderHub, state: RoutingState, context: CallContext | undefined) => {
  if (!context) return Effect.void;
  const breach = hub.budgets.check(context, state.config.budgets);
  if (!breach) return Effect.void;
  return Effect.zipRight(
    hub.events.publish({
      ...eventBase(context),
      type: "budget.exceeded",
      scope: breach.scope,
      limit: breach.limit,
      reason: breach.reason,
    }),
    Effect.fail(
      new ProviderError({
        reason: "budget_exceeded",
        provider: "router",
        retryable: false,
        detail: breach.reason,
      }),
    ),
  );
};

const requestFor = (
  choice: ModelChoice,
  request: Omit<ModelRequest, "model" | "options">,
  model: string,
): ModelRequest => {
  const temperature = choice.temperature ?? request.temperature;
  const maxTokens = choice.maxTokens ?? request.maxTokens;
  return {
    ...request,
    model,
    ...(temperature !== undefined ? { temperature } : {}),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    ...(choice.options ? { options: choice.options } : {}),
  };
};

/** Makes the economic router over a hub; hand it to `host.installModelRouter`. */
export const makeEconomicRouter =
  (hub: ProviderHub) =>
  (lookup: ProviderLookup): ModelRouter => {
    const info = (
      operation: CallInfo["operation"],
      choice: ModelChoice,
      request: Omit<ModelRequest, "model" | "options">,
    ) => {
      const temperature = choice.temperature ?? request.temperature;
      const maxTokens = choice.maxTokens ?? request.maxTokens;
      return {
        operation,
        context: request.context,
        ...(temperature !== undefined ? { temperature } : {}),
        ...(maxTokens !== undefined ? { maxTokens } : {}),
      } satisfies CallInfo;
    };

    const generate: ModelRouter["generate"] = (choice, request) =>
      Effect.gen(function* () {
        const state = hub.state();
        yield* checkBudget(hub, state, request.context);
        const targets = yield* planCandidates(state, lookup, choice);
        const key = state.cache ? cacheKey(choice, request) : undefined;
        if (state.cache && key) {
          const hit = state.cache.get(key, yield* Clock.currentTimeMillis);
          if (hit) {
            yield* recordCacheHit(hub, request.context, hit);
            return hit;
          }
        }
        const response = yield* walk(hub, targets, request.context, (target) =>
          attempt(
            hub,
            state,
            target,
            info("chat", choice, request),
            (secret) => {
              const req = requestFor(choice, request, target.model);
              return target.kind === "builtin"
                ? target.driver.generate(secret, req)
                : target.impl.generate(req);
            },
            (res: ModelResponse, report) => Effect.as(report.ok(res.usage, res.finishReason), res),
          ),
        );
        if (state.cache && key) state.cache.set(key, response, yield* Clock.currentTimeMillis);
        return response;
      });

    const stream: ModelRouter["stream"] = (choice, request) =>
      Stream.unwrap(
        Effect.gen(function* () {
          const state = hub.state();
          yield* checkBudget(hub, state, request.context);
          const targets = yield* planCandidates(state, lookup, choice);
          return yield* walk(hub, targets, request.context, (target) =>
            attempt(
              hub,
              state,
              target,
              info("stream", choice, request),
              (secret): Effect.Effect<Stream.Stream<ModelStreamEvent, ProviderError>, ProviderError> => {
                const req = requestFor(choice, request, target.model);
                return target.kind === "builtin"
                  ? target.driver.stream(secret, req)
                  : Effect.succeed(target.impl.stream(req));
              },
              (events, report) => Effect.succeed(settleStream(events, report)),
            ),
          );
        }),
      );

    const embed: ModelRouter["embed"] = (choice, request) =>
      Effect.gen(function* () {
        const state = hub.state();
        yield* checkBudget(hub, state, request.context);
        const targets = yield* planCandidates(state, lookup, {
          ...choice,
          ...(request.model ? { model: request.model } : {}),
        });
        return yield* walk(hub, targets, request.context, (target) =>
          attempt(
            hub,
            state,
            target,
            { operation: "embed", ...(request.context ? { context: request.context } : {}) },
            (secret): Effect.Effect<EmbedResponse, ProviderError> => {
              const req: EmbedRequest & { model: string } = { ...request, model: target.model };
              const driverEmbed = target.kind === "builtin" ? target.driver.embed : undefined;
              const implEmbed = target.kind === "external" ? target.impl.embed : undefined;
              if (driverEmbed) return driverEmbed(secret, req);
              if (implEmbed) return implEmbed(req);
              return Effect.fail(
                new ProviderError({
                  reason: "bad_request",
                  provider: target.provider,
                  model: target.model,
                  retryable: false,
                  detail: `${target.provider} offers no embeddings (OpenAI, Google and Ollama do)`,
                }),
              );
            },
            (res, report) => Effect.as(report.ok(res.usage), res),
          ),
        );
      });

    return { generate, stream, embed };
  };

/** Reports a stream's outcome when it finishes or fails; deltas pass through untouched. */
const settleStream = (
  events: Stream.Stream<ModelStreamEvent, ProviderError>,
  report: Report,
): Stream.Stream<ModelStreamEvent, ProviderError> => {
  let settled = false;
  return events.pipe(
    Stream.tap((event) => {
      if (event.type !== "finish" || settled) return Effect.void;
      settled = true;
      return report.ok(event.usage, event.finishReason);
    }),
    Stream.tapError((error) => {
      if (settled) return Effect.void;
      settled = true;
      return report.fail(error);
    }),
    Stream.ensuring(
      Effect.suspend(() => {
        if (settled) return Effect.void;
        settled = true;
        return report.ok({ inputTokens: 0, outputTokens: 0 });
      }),
    ),
  );
};

/** A cache hit is still a call in the ledger and on the event stream, with `cached: true` and no cost. */
const recordCacheHit = (hub: ProviderHub, context: CallContext | undefined, hit: ModelResponse) =>
  Effect.gen(function* () {
    const time = yield* Clock.currentTimeMillis;
    yield* hub.ledger.record({
      time,
      ...eventBase(context),
      agentId: context?.agentId ?? "",
      ...(context?.tenant !== undefined ? { tenant: context.tenant } : {}),
      operation: "chat",
      provider: hit.provider,
      model: hit.model,
      inputTokens: hit.usage.inputTokens,
      outputTokens: hit.usage.outputTokens,
      costUsd: 0,
      latencyMs: 0,
      outcome: "ok",
      cached: true,
    });
    yield* hub.events.publish({
      ...eventBase(context),
      type: "provider.call",
      provider: hit.provider,
      model: hit.model,
      inputTokens: hit.usage.inputTokens,
      outputTokens: hit.usage.outputTokens,
      costUsd: 0,
      latencyMs: 0,
      outcome: "ok",
      cached: true,
    });
  });
