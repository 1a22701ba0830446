/**
 * The economic router: a `ModelRouter` that turns a spec's model choice (a profile, or an explicit
 * provider+model) into an ordered list of candidates and walks it — budgets first, then the cache,
 * then each candidate with key rotation, falling back on retryable errors (429 everywhere, 5xx,
 * timeouts, network, open circuits) and returning non-retryable ones (400, 401, content policy).
 * Any provider registered with the host is reachable by name, built-in or not (`scripted`).
 */
import { Clock, Effect, Either, Stream } from "effect";
import {
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
import { attempt, type CallInfo, type Target } from "./attempt.ts";
import { orderByStanding, planCandidates } from "./candidates.ts";
import { estimateEmbedTokens, estimateTokens, type TokenEstimate } from "./estimate.ts";
import type { ProviderHub, RoutingState } from "./hub.ts";
import { cacheKey, callerOf } from "./response-cache.ts";
import { recordCacheHit, requestFor, reserveBudget, settleStream, walk, withBudget } from "./router-steps.ts";

export { planCandidates } from "./candidates.ts";

/**
 * The response with its cost set. Gotcha: written `{ costUsd, ...response }` and then set, not
 * `{ ...response, costUsd }`: on Node 20's V8 an object literal that starts with a spread and goes
 * on takes the slow path (about 30 times slower than one that starts with a property), and this
 * runs on every model call.
 */
const priced = (response: ModelResponse, costUsd: number): ModelResponse => {
  const out: { -readonly [K in keyof ModelResponse]: ModelResponse[K] } = { costUsd, ...response };
  out.costUsd = costUsd;
  return out;
};

/** Makes the economic router over a hub; hand it to `host.installModelRouter`. */
export const makeEconomicRouter =
  (hub: ProviderHub, options: { readonly standing?: () => ReadonlyMap<string, number> } = {}) =>
  (lookup: ProviderLookup): ModelRouter => {
    /** The candidates of a call, ordered by arena standing when `routing.arenaBias` says so. */
    const plan = (state: RoutingState, choice: ModelChoice) =>
      Either.map(planCandidates(state, lookup, choice), (targets) =>
        state.config.routing.arenaBias && choice.provider === undefined && options.standing
          ? orderByStanding(targets, options.standing())
          : targets,
      );
    const info = (
      operation: CallInfo["operation"],
      choice: ModelChoice,
      request: Omit<ModelRequest, "model" | "options">,
    ) => {
      const temperature = choice.temperature ?? request.temperature;
      const maxTokens = choice.maxTokens ?? request.maxTokens;
      // Assigned rather than spread: this runs on every model call.
      const call: { -readonly [K in keyof CallInfo]: CallInfo[K] } = { operation, context: request.context };
      if (temperature !== undefined) call.temperature = temperature;
      if (maxTokens !== undefined) call.maxTokens = maxTokens;
      call.estimate = estimateTokens(request.messages, request.tools, maxTokens);
      return call as CallInfo & { readonly estimate: TokenEstimate };
    };

    const generate: ModelRouter["generate"] = (choice, request) =>
      Effect.suspend(() => {
        const state = hub.state();
        const targets = plan(state, choice);
        if (Either.isLeft(targets)) return Effect.fail(targets.left);
        const chat = info("chat", choice, request);
        return withBudget(
          reserveBudget(hub, state, request.context, targets.right, chat.estimate),
          generateOn(state, targets.right, choice, request, chat),
        );
      });

    const generateOn = (
      state: RoutingState,
      targets: ReadonlyArray<Target>,
      choice: ModelChoice,
      request: Omit<ModelRequest, "model" | "options">,
      chat: CallInfo,
    ): Effect.Effect<ModelResponse, ProviderError> => {
      const call = walk(hub, state, targets, request.context, (target) =>
        attempt(
          hub,
          state,
          target,
          chat,
          (secret) => {
            const req = requestFor(choice, request, target.model);
            return target.kind === "builtin"
              ? target.driver.generate(secret, req)
              : target.impl.generate(req);
          },
          (res: ModelResponse, report) =>
            Effect.map(report.ok(res.usage, res.finishReason), (costUsd) => priced(res, costUsd)),
        ),
      );
      const cache =
        state.cache && targets.every((t) => t.kind === "builtin" || t.impl.cacheable !== false)
          ? state.cache
          : undefined;
      if (cache === undefined) return call;
      const key = cacheKey(
        targets.map((t) => `${t.provider}/${t.model}`),
        { ...chat, ...(choice.options ? { options: choice.options } : {}) },
        request,
      );
      return Effect.gen(function* () {
        const hit = cache.get(key, yield* Clock.currentTimeMillis);
        if (hit) {
          yield* recordCacheHit(hub, request.context, hit);
          return priced(hit, 0);
        }
        const response = yield* call;
        // Held until the asking agent's step settles: a rejected answer is never stored.
        cache.hold(callerOf(request.context), key, response);
        return response;
      });
    };

    const stream: ModelRouter["stream"] = (choice, request) =>
      // Scoped: the budget reservation is held until the stream ends.
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const state = hub.state();
          const targets = yield* plan(state, choice);
          const call = info("stream", choice, request);
          const reserve = reserveBudget(hub, state, request.context, targets, call.estimate);
          if (reserve !== undefined)
            yield* Effect.acquireRelease(reserve, (reservation) => reservation.release);
          return yield* walk(hub, state, targets, request.context, (target) =>
            attempt(
              hub,
              state,
              target,
              call,
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
        const targets = yield* planCandidates(state, lookup, {
          ...choice,
          ...(request.model ? { model: request.model } : {}),
        });
        const estimate = estimateEmbedTokens(request.inputs);
        return yield* withBudget(
          reserveBudget(hub, state, request.context, targets, estimate),
          walk(hub, state, targets, request.context, (target) =>
            attempt(
              hub,
              state,
              target,
              {
                operation: "embed",
                ...(request.context ? { context: request.context } : {}),
                estimate,
              },
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
          ),
        );
      });

    return { generate, stream, embed };
  };
