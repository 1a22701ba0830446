/**
 * The steps the router sequences around attempts: walking the fallback chain, checking budgets,
 * shaping the request, settling a stream's bookkeeping, and recording cache hits.
 */
import { Effect, Stream } from "effect";
import {
  type CallContext,
  type ModelChoice,
  type ModelRequest,
  type ModelResponse,
  type ModelStreamEvent,
  ProviderError,
} from "../../runtime/model.ts";
import { eventBase, type Report, recordCall, type Target } from "./attempt.ts";
import type { Reservation } from "./budget.ts";
import { finalError } from "./candidates.ts";
import type { TokenEstimate } from "./estimate.ts";
import type { ProviderHub, RoutingState } from "./hub.ts";
import { costOf } from "./profiles.ts";

/**
 * Walks the candidates in order, falling back on retryable errors. When every candidate is
 * rate-limited (keys cooling, at their rpm/tpm, or circuits open) and the earliest frees up within
 * `routing.maxRetryAfterMs`, waits that long (Effect's Clock; interruptible) and walks again, at
 * most `routing.retries` times.
 */
export const walk = <A>(
  hub: ProviderHub,
  state: RoutingState,
  targets: ReadonlyArray<Target>,
  context: CallContext | undefined,
  one: (target: Target) => Effect.Effect<A, ProviderError>,
): Effect.Effect<A, ProviderError> => {
  /** Tries `targets[i]`, then those after it while failures are retryable; `errors` so far this round. */
  const tryFrom = (
    i: number,
    before: Array<ProviderError> | undefined,
    round: number,
  ): Effect.Effect<A, ProviderError> =>
    Effect.catchAll(one(targets[i]!), (error) => {
      // Made on the first failure: a call that succeeds at once keeps no list.
      const errors = before ?? [];
      errors.push(error);
      const target = targets[i]!;
      const next = targets[i + 1];
      if (!error.retryable || !next) return afterRound(errors, round);
      return Effect.zipRight(
        hub.events.publish({
          ...eventBase(context),
          type: "provider.fallback",
          from: `${target.provider}/${target.model}`,
          to: `${next.provider}/${next.model}`,
          reason: error.reason,
        }),
        tryFrom(i + 1, errors, round),
      );
    });
  const afterRound = (
    errors: ReadonlyArray<ProviderError>,
    round: number,
  ): Effect.Effect<A, ProviderError> => {
    const error = finalError(errors);
    const waitMs = error.retryAfterMs;
    const limited = errors.every((e) => e.reason === "rate_limited" || e.reason === "circuit_open");
    if (
      !limited ||
      waitMs === undefined ||
      waitMs > state.config.routing.maxRetryAfterMs ||
      round >= state.config.routing.retries
    )
      return Effect.fail(error);
    const first = targets[0]!;
    return hub.events
      .publish({
        ...eventBase(context),
        type: "provider.retry",
        provider: errors.length === 1 ? first.provider : "router",
        model: errors.length === 1 ? first.model : "",
        attempt: round + 2,
        delayMs: waitMs,
        reason: `${error.reason}: waiting out Retry-After`,
      })
      .pipe(
        Effect.zipRight(Effect.sleep(waitMs)),
        Effect.zipRight(Effect.suspend(() => tryFrom(0, undefined, round + 1))),
      );
  };
  return Effect.suspend(() => tryFrom(0, undefined, 0));
};

/**
 * Reserves the call's estimate in every budget that applies to the caller (priced at the dearest
 * candidate), or fails with `budget_exceeded` and publishes `budget.exceeded`. Release the
 * reservation when the call is over (`withBudget` does). Undefined when no budget applies.
 */
export const reserveBudget = (
  hub: ProviderHub,
  state: RoutingState,
  context: CallContext | undefined,
  targets: ReadonlyArray<Target>,
  estimate: TokenEstimate,
): Effect.Effect<Reservation, ProviderError> | undefined => {
  if (!context || !hub.budgets.applies(context, state.config.budgets)) return undefined;
  const usage = { inputTokens: estimate.input, outputTokens: estimate.output };
  const costUsd = Math.max(0, ...targets.map((t) => costOf(t.price, usage)));
  return hub.budgets
    .reserve(context, state.config.budgets, { tokens: estimate.input + estimate.output, costUsd })
    .pipe(
      Effect.catchAll((breach) =>
        Effect.zipRight(
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
        ),
      ),
    );
};

/** Runs `call` under a budget reservation (if one is needed), released however the call ends. */
export const withBudget = <A>(
  reserve: Effect.Effect<Reservation, ProviderError> | undefined,
  call: Effect.Effect<A, ProviderError>,
): Effect.Effect<A, ProviderError> =>
  reserve === undefined
    ? call
    : Effect.acquireUseRelease(
        reserve,
        () => call,
        (reservation) => reservation.release,
      );

/**
 * The request one target gets: the choice's settings over the agent's. Built by assignment in a
 * fixed order rather than by spreads, so every request has the same shape and the provider reads
 * its fields at full speed (this runs on every model call).
 */
export const requestFor = (
  choice: ModelChoice,
  request: Omit<ModelRequest, "model" | "options">,
  model: string,
): ModelRequest => {
  const req = { messages: request.messages } as { -readonly [K in keyof ModelRequest]: ModelRequest[K] };
  if (request.tools !== undefined) req.tools = request.tools;
  const temperature = choice.temperature ?? request.temperature;
  if (temperature !== undefined) req.temperature = temperature;
  const maxTokens = choice.maxTokens ?? request.maxTokens;
  if (maxTokens !== undefined) req.maxTokens = maxTokens;
  req.context = request.context;
  req.model = model;
  // A caller's own `options` (untyped here) pass through unless the choice sets its own.
  const options = choice.options ?? (request as { readonly options?: ModelRequest["options"] }).options;
  if (options !== undefined) req.options = options;
  return req;
};

/** Reports a stream's outcome when it finishes or fails; deltas pass through untouched. */
export const settleStream = (
  events: Stream.Stream<ModelStreamEvent, ProviderError>,
  report: Report,
): Stream.Stream<ModelStreamEvent, ProviderError> => {
  let settled = false;
  return events.pipe(
    Stream.tap((event) => {
      if (event.type !== "finish" || settled) return Effect.void;
      settled = true;
      return Effect.asVoid(report.ok(event.usage, event.finishReason));
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
        return Effect.asVoid(report.ok({ inputTokens: 0, outputTokens: 0 }));
      }),
    ),
  );
};

/** A cache hit is still a call in the ledger and on the event stream, with `cached: true` and no cost. */
export const recordCacheHit = (hub: ProviderHub, context: CallContext | undefined, hit: ModelResponse) =>
  recordCall(hub, context, "chat", {
    provider: hit.provider,
    model: hit.model,
    inputTokens: hit.usage.inputTokens,
    outputTokens: hit.usage.outputTokens,
    costUsd: 0,
    latencyMs: 0,
    outcome: "ok",
    cached: true,
  });
