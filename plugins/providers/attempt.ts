/**
 * One attempt on one candidate (provider+model): breaker check, key rotation on 429 with
 * cooldowns, and the bookkeeping every call gets (ledger record, `provider.call` event, OTEL span,
 * per-key counters, breaker transitions, budget charge).
 */
import { Clock, Effect, FiberRef } from "effect";
import type { ArborEventInput } from "../../runtime/events.ts";
import { type CallContext, type ModelProvider, ProviderError, type Usage } from "../../runtime/model.ts";
import { currentSpan, tracingActive } from "../../runtime/tracing.ts";
import type { UsageRecord } from "../../runtime/usage-ledger.ts";
import type { CircuitTransition } from "./circuit-breaker.ts";
import type { ResolvedProvider } from "./config.ts";
import type { ProviderDriver } from "./driver.ts";
import { scrub } from "./errors.ts";
import type { TokenEstimate } from "./estimate.ts";
import type { ProviderHub, RoutingState } from "./hub.ts";
import type { KeyPool, KeyState } from "./key-pool.ts";
import { costOf } from "./profiles.ts";
import { backoff, isTransient } from "./retry.ts";
import { endProviderSpan, startProviderSpan } from "./tracing.ts";

/** A candidate the router may call. */
export type Target =
  | {
      /** Driven by Arbor with a key pool: a built-in provider or a custom OpenAI-compatible one. */
      readonly kind: "builtin";
      readonly provider: string;
      readonly model: string;
      readonly driver: ProviderDriver;
      readonly pool: KeyPool;
      /** Its resolved settings (retries, limits). */
      readonly settings: ResolvedProvider;
      /** `gen_ai.provider.name` in spans. */
      readonly otelName: string;
      readonly price: { readonly inputCostPerMTok: number; readonly outputCostPerMTok: number };
    }
  | {
      readonly kind: "external";
      readonly provider: string;
      readonly model: string;
      readonly impl: ModelProvider;
      readonly price: { readonly inputCostPerMTok: number; readonly outputCostPerMTok: number };
    };

/** What kind of call this is and who makes it. */
export interface CallInfo {
  readonly operation: "chat" | "stream" | "embed";
  readonly context?: CallContext;
  readonly temperature?: number;
  readonly maxTokens?: number;
  /** Tokens estimated before sending, counted against a key's `tpm`. */
  readonly estimate?: TokenEstimate;
}

/** Bookkeeping hooks handed to `settle`: call exactly one of them when the call's outcome is known. */
export interface Report {
  /** Records a success; yields what the call cost in USD. */
  readonly ok: (usage: Usage, finishReason?: string) => Effect.Effect<number>;
  readonly fail: (error: ProviderError) => Effect.Effect<void>;
}

/** Event fields naming the caller (runtime-wide when there is none). */
export const eventBase = (context: CallContext | undefined) => ({
  tree: context?.tree ?? "",
  address: context?.address ?? "/",
  id: context?.agentId ?? "",
});

/** One provider call as the ledger and the `provider.call` event both show it: a usage record without who and when. */
export type CallRecord = Omit<UsageRecord, "time" | "tree" | "tenant" | "address" | "agentId" | "operation">;

/** Records a call in the ledger and publishes it as a `provider.call` event. */
export const recordCall = (
  hub: ProviderHub,
  context: CallContext | undefined,
  operation: UsageRecord["operation"],
  call: CallRecord,
) =>
  Effect.gen(function* () {
    const time = yield* Clock.currentTimeMillis;
    yield* hub.ledger.record({
      time,
      ...eventBase(context),
      agentId: context?.agentId ?? "",
      ...(context?.tenant !== undefined ? { tenant: context.tenant } : {}),
      operation,
      ...call,
    });
    yield* hub.events.publish({
      ...eventBase(context),
      type: "provider.call",
      ...call,
      ...(context?.tenant !== undefined ? { tenant: context.tenant } : {}),
    });
  });

const publishTransition = (
  hub: ProviderHub,
  target: Target,
  context: CallContext | undefined,
  transition: CircuitTransition | undefined,
) =>
  transition
    ? hub.events.publish({
        ...eventBase(context),
        type:
          transition.to === "open"
            ? "circuit.opened"
            : transition.to === "half_open"
              ? "circuit.half_open"
              : "circuit.closed",
        provider: target.provider,
        model: target.model,
        reason: transition.reason,
      } as ArborEventInput)
    : Effect.void;

/**
 * Calls `run` on the target, rotating keys on rate limits. `settle` turns a successful value into
 * the value returned and must call `report.ok` / `report.fail` once (streams do it at the end).
 */
export const attempt = <A>(
  hub: ProviderHub,
  state: RoutingState,
  target: Target,
  info: CallInfo,
  run: (secret: string | undefined) => Effect.Effect<A, ProviderError>,
  settle: (value: A, report: Report) => Effect.Effect<A>,
): Effect.Effect<A, ProviderError> =>
  Effect.gen(function* () {
    const breaker = hub.breaker(target.provider, target.model);
    const context = info.context;
    const gate = breaker.allow(yield* Clock.currentTimeMillis);
    yield* publishTransition(hub, target, context, gate.transition);
    if (!gate.allowed) {
      const now = yield* Clock.currentTimeMillis;
      return yield* new ProviderError({
        reason: "circuit_open",
        provider: target.provider,
        model: target.model,
        retryable: true,
        retryAfterMs: Math.max(0, breaker.retryAtMs() - now),
        detail: `circuit open after repeated failures; next trial in ${Math.max(0, breaker.retryAtMs() - now)} ms`,
      });
    }
    const pool = target.kind === "builtin" ? target.pool : undefined;
    const retries = target.kind === "builtin" ? target.settings.retries : state.config.routing.retries;
    let retried = 0;
    // Each key is tried at most once per call for a 429, even when a provider says `Retry-After: 0`.
    for (let tries = 0; ; tries++) {
      const now = yield* Clock.currentTimeMillis;
      const tokens = info.estimate ? info.estimate.input + info.estimate.output : 0;
      const acquired = pool
        ? tries < pool.keys.length
          ? pool.acquire(now, tokens)
          : pool.nextFreeAt()
        : undefined;
      if (acquired && "retryAtMs" in acquired) {
        const wait = Math.max(0, acquired.retryAtMs - now);
        const limits = target.kind === "builtin" ? target.settings.limits : undefined;
        if (
          acquired.why === "limited" &&
          limits?.whenLimited === "wait" &&
          wait <= state.config.routing.maxRetryAfterMs
        ) {
          yield* hub.events.publish({
            ...eventBase(context),
            type: "provider.retry",
            provider: target.provider,
            model: target.model,
            attempt: retried + 1,
            delayMs: wait,
            reason: "every key is at its rpm/tpm limit: waiting",
          });
          yield* Effect.sleep(wait);
          tries--;
          continue;
        }
        return yield* new ProviderError({
          reason: "rate_limited",
          provider: target.provider,
          model: target.model,
          retryable: true,
          retryAfterMs: wait,
          detail:
            acquired.why === "limited"
              ? `all ${pool?.keys.length} keys are at their rpm/tpm limits; the first has room again in ${wait} ms`
              : `all ${pool?.keys.length} keys are cooling down; the first is free again in ${wait} ms`,
        });
      }
      const key: KeyState | undefined = acquired;
      const fingerprint = key?.fingerprint ?? "none";
      const persist = Effect.suspend(() =>
        key && pool && hub.keyStore ? hub.keyStore.save(pool.persisted(key)) : Effect.void,
      );
      const span = startProviderSpan({
        operation: info.operation === "embed" ? "embeddings" : "chat",
        provider: target.provider,
        otelProvider: target.kind === "builtin" ? target.otelName : target.provider,
        model: target.model,
        key: fingerprint,
        ...(context ? { context } : {}),
        ...(info.temperature !== undefined ? { temperature: info.temperature } : {}),
        ...(info.maxTokens !== undefined ? { maxTokens: info.maxTokens } : {}),
        stream: info.operation === "stream",
        parent: tracingActive() ? yield* FiberRef.get(currentSpan) : undefined,
      });
      const started = performance.now();
      const record = (outcome: { usage: Usage; error?: ProviderError }) =>
        Effect.gen(function* () {
          const latencyMs = performance.now() - started;
          const costUsd = costOf(target.price, outcome.usage);
          const reason = outcome.error?.reason;
          yield* recordCall(hub, context, info.operation, {
            provider: target.provider,
            model: target.model,
            key: fingerprint,
            inputTokens: outcome.usage.inputTokens,
            outputTokens: outcome.usage.outputTokens,
            costUsd,
            latencyMs,
            outcome: outcome.error ? "error" : "ok",
            ...(reason ? { reason } : {}),
            cached: false,
          });
          return costUsd;
        });
      const onFailure = (error: ProviderError) =>
        Effect.gen(function* () {
          endProviderSpan(span, {
            ok: false,
            reason: error.reason,
            message: scrub(error.message, state.secrets),
          });
          yield* record({ usage: { inputTokens: 0, outputTokens: 0 }, error });
          const now = yield* Clock.currentTimeMillis;
          if (error.reason !== "rate_limited" && key && pool) pool.failed(key);
          yield* publishTransition(hub, target, context, breaker.failed(now, error));
        });
      const report: Report = {
        ok: (usage, finishReason) =>
          Effect.gen(function* () {
            endProviderSpan(span, {
              ok: true,
              usage,
              model: target.model,
              ...(finishReason ? { finishReason } : {}),
            });
            const costUsd = yield* record({ usage });
            if (key && pool) pool.succeeded(key, usage.inputTokens + usage.outputTokens);
            yield* persist;
            if (context)
              hub.budgets.charge(
                context,
                usage.inputTokens + usage.outputTokens,
                costUsd,
                yield* Clock.currentTimeMillis,
              );
            yield* publishTransition(hub, target, context, breaker.succeeded());
            return costUsd;
          }),
        fail: onFailure,
      };
      const result = yield* Effect.either(run(key?.secret));
      if (result._tag === "Right") return yield* settle(result.right, report);
      const error = result.left;
      yield* onFailure(error);
      if (error.reason === "rate_limited" && key && pool) {
        const untilMs = pool.cool(key, yield* Clock.currentTimeMillis, error.retryAfterMs);
        yield* persist;
        yield* hub.events.publish({
          ...eventBase(context),
          type: "key.cooldown",
          provider: target.provider,
          key: key.fingerprint,
          untilMs,
          reason:
            error.retryAfterMs !== undefined ? `429, Retry-After ${error.retryAfterMs} ms` : "429, backoff",
        });
        continue;
      }
      if (error.reason !== "rate_limited") yield* persist;
      if (retried < retries && isTransient(error) && breaker.state() !== "open") {
        retried++;
        const delayMs = yield* backoff(state, retried);
        yield* hub.events.publish({
          ...eventBase(context),
          type: "provider.retry",
          provider: target.provider,
          model: target.model,
          attempt: retried + 1,
          delayMs,
          reason: error.reason,
        });
        // Interruptible: an aborted ask stops here, before another request is sent.
        yield* Effect.sleep(delayMs);
        tries--; // a retry is not a rotation: the same number of keys stays available for 429s
        continue;
      }
      return yield* error;
    }
  });
