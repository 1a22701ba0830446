/**
 * One attempt on one candidate (provider+model): breaker check, key rotation on 429 with
 * cooldowns, and the bookkeeping every call gets (ledger record, `provider.call` event, OTEL span,
 * per-key counters, breaker transitions, budget charge).
 */
import type { Span } from "@opentelemetry/api";
import { Clock, Effect, FiberRef } from "effect";
import type { ArborEventInput } from "../../runtime/events.ts";
import { type CallContext, type ModelProvider, ProviderError, type Usage } from "../../runtime/model.ts";
import { currentSpan, tracingActive } from "../../runtime/tracing.ts";
import type { UsageRecord } from "../../runtime/usage-ledger.ts";
import type { CircuitBreaker, CircuitTransition } from "./circuit-breaker.ts";
import type { ResolvedProvider } from "./config.ts";
import type { ProviderDriver } from "./driver.ts";
import { scrub } from "./errors.ts";
import type { TokenEstimate } from "./estimate.ts";
import type { ProviderHub, RoutingState } from "./hub.ts";
import type { KeyPool, KeyState } from "./key-pool.ts";
import { costOf } from "./profiles.ts";
import { backoff, isTransient } from "./retry.ts";
import { endProviderSpan, noProviderSpan, startProviderSpan } from "./tracing.ts";

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

/**
 * Records a call in the ledger and publishes it as a `provider.call` event (at `time`, else now on
 * Effect's Clock).
 */
export const recordCall = (
  hub: ProviderHub,
  context: CallContext | undefined,
  operation: UsageRecord["operation"],
  call: CallRecord,
  time?: number,
): Effect.Effect<void> => {
  if (time === undefined)
    return Effect.flatMap(Clock.currentTimeMillis, (now) => recordCall(hub, context, operation, call, now));
  const tree = context?.tree ?? "";
  const address = context?.address ?? "/";
  const id = context?.agentId ?? "";
  const tenant = context?.tenant;
  // Built by assignment, not spreads: this runs on every provider call, and the ledger keeps it.
  const record: Mutable<UsageRecord> = { time, tree, address, agentId: id } as Mutable<UsageRecord>;
  if (tenant !== undefined) record.tenant = tenant;
  record.operation = operation;
  record.provider = call.provider;
  record.model = call.model;
  if (call.key !== undefined) record.key = call.key;
  record.inputTokens = call.inputTokens;
  record.outputTokens = call.outputTokens;
  record.costUsd = call.costUsd;
  record.latencyMs = call.latencyMs;
  record.outcome = call.outcome;
  if (call.reason !== undefined) record.reason = call.reason;
  record.cached = call.cached;
  const recorded = hub.ledger.record(record);
  // The event is only assembled when someone would receive it.
  if (!hub.events.wants("provider.call")) return recorded;
  const fields = {
    provider: call.provider,
    model: call.model,
    ...(call.key !== undefined ? { key: call.key } : {}),
    inputTokens: call.inputTokens,
    outputTokens: call.outputTokens,
    costUsd: call.costUsd,
    latencyMs: call.latencyMs,
    outcome: call.outcome,
    ...(call.reason !== undefined ? { reason: call.reason } : {}),
    cached: call.cached,
  };
  const who = tenant !== undefined ? { tenant } : {};
  return Effect.zipRight(
    recorded,
    hub.events.publish({ tree, address, id, type: "provider.call", ...fields, ...who }),
  );
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

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
 *
 * Written as plain functions returning effects rather than one generator: a zero-latency provider
 * makes this the busiest code of a step, and the happy path here is a handful of effects.
 */
export const attempt = <A>(
  hub: ProviderHub,
  state: RoutingState,
  target: Target,
  info: CallInfo,
  run: (secret: string | undefined) => Effect.Effect<A, ProviderError>,
  settle: (value: A, report: Report) => Effect.Effect<A>,
): Effect.Effect<A, ProviderError> =>
  Effect.clockWith((clock) => {
    const breaker = hub.breaker(target.provider, target.model);
    const context = info.context;
    const gate = breaker.allow(clock.unsafeCurrentTimeMillis());
    let outcome: Effect.Effect<A, ProviderError>;
    if (!gate.allowed) {
      const wait = Math.max(0, breaker.retryAtMs() - clock.unsafeCurrentTimeMillis());
      outcome = Effect.fail(
        new ProviderError({
          reason: "circuit_open",
          provider: target.provider,
          model: target.model,
          retryable: true,
          retryAfterMs: wait,
          detail: `circuit open after repeated failures; next trial in ${wait} ms`,
        }),
      );
    } else outcome = tryKeys(hub, state, target, info, run, settle, breaker, clock);
    return gate.transition === undefined
      ? outcome
      : Effect.zipRight(publishTransition(hub, target, context, gate.transition), outcome);
  });

/** The attempt once the breaker let it through: keys tried in turn, retries after transient failures. */
const tryKeys = <A>(
  hub: ProviderHub,
  state: RoutingState,
  target: Target,
  info: CallInfo,
  run: (secret: string | undefined) => Effect.Effect<A, ProviderError>,
  settle: (value: A, report: Report) => Effect.Effect<A>,
  breaker: CircuitBreaker,
  clock: Clock.Clock,
): Effect.Effect<A, ProviderError> => {
  const context = info.context;
  const pool = target.kind === "builtin" ? target.pool : undefined;
  const retries = target.kind === "builtin" ? target.settings.retries : state.config.routing.retries;
  const tokens = info.estimate ? info.estimate.input + info.estimate.output : 0;
  // Each key is tried at most once per call for a 429, even when a provider says `Retry-After: 0`.
  // A retry is not a rotation: the same number of keys stays available for 429s.
  const from = (tries: number, retried: number): Effect.Effect<A, ProviderError> => {
    const now = clock.unsafeCurrentTimeMillis();
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
      )
        return hub.events
          .publish({
            ...eventBase(context),
            type: "provider.retry",
            provider: target.provider,
            model: target.model,
            attempt: retried + 1,
            delayMs: wait,
            reason: "every key is at its rpm/tpm limit: waiting",
          })
          .pipe(
            Effect.zipRight(Effect.sleep(wait)),
            Effect.zipRight(Effect.suspend(() => from(tries, retried))),
          );
      return Effect.fail(
        new ProviderError({
          reason: "rate_limited",
          provider: target.provider,
          model: target.model,
          retryable: true,
          retryAfterMs: wait,
          detail:
            acquired.why === "limited"
              ? `all ${pool?.keys.length} keys are at their rpm/tpm limits; the first has room again in ${wait} ms`
              : `all ${pool?.keys.length} keys are cooling down; the first is free again in ${wait} ms`,
        }),
      );
    }
    const key: KeyState | undefined = acquired;
    const fingerprint = key?.fingerprint ?? "none";
    // Undefined when there is nothing to save (no key store): the happy path then adds no effect for it.
    const persistKey =
      key && pool && hub.keyStore ? Effect.suspend(() => hub.keyStore!.save(pool.persisted(key))) : undefined;
    const persist = persistKey ?? Effect.void;
    const started = performance.now();
    const called = (span: Span) => {
      const record = (usage: Usage, error?: ProviderError) => {
        const costUsd = costOf(target.price, usage);
        return Effect.as(
          recordCall(
            hub,
            context,
            info.operation,
            {
              provider: target.provider,
              model: target.model,
              key: fingerprint,
              inputTokens: usage.inputTokens,
              outputTokens: usage.outputTokens,
              costUsd,
              latencyMs: performance.now() - started,
              outcome: error ? "error" : "ok",
              ...(error?.reason ? { reason: error.reason } : {}),
              cached: false,
            },
            clock.unsafeCurrentTimeMillis(),
          ),
          costUsd,
        );
      };
      const onFailure = (error: ProviderError) =>
        Effect.suspend(() => {
          endProviderSpan(span, {
            ok: false,
            reason: error.reason,
            message: scrub(error.message, state.secrets),
          });
          return Effect.zipRight(
            record({ inputTokens: 0, outputTokens: 0 }, error),
            Effect.suspend(() => {
              if (error.reason !== "rate_limited" && key && pool) pool.failed(key);
              return publishTransition(
                hub,
                target,
                context,
                breaker.failed(clock.unsafeCurrentTimeMillis(), error),
              );
            }),
          );
        });
      const report: Report = {
        ok: (usage, finishReason) =>
          Effect.suspend(() => {
            if (span.isRecording())
              endProviderSpan(span, {
                ok: true,
                usage,
                model: target.model,
                ...(finishReason ? { finishReason } : {}),
              });
            else span.end();
            return Effect.flatMap(record(usage), (costUsd) => {
              if (key && pool) pool.succeeded(key, usage.inputTokens + usage.outputTokens);
              const charged = () => {
                if (context)
                  hub.budgets.charge(
                    context,
                    usage.inputTokens + usage.outputTokens,
                    costUsd,
                    clock.unsafeCurrentTimeMillis(),
                  );
                const transition = breaker.succeeded();
                return transition === undefined
                  ? Effect.succeed(costUsd)
                  : Effect.as(publishTransition(hub, target, context, transition), costUsd);
              };
              return persistKey === undefined
                ? charged()
                : Effect.zipRight(persistKey, Effect.suspend(charged));
            });
          }),
        fail: onFailure,
      };
      const afterFailure = (error: ProviderError): Effect.Effect<A, ProviderError> => {
        if (error.reason === "rate_limited" && key && pool) {
          const untilMs = pool.cool(key, clock.unsafeCurrentTimeMillis(), error.retryAfterMs);
          return persist.pipe(
            Effect.zipRight(
              hub.events.publish({
                ...eventBase(context),
                type: "key.cooldown",
                provider: target.provider,
                key: key.fingerprint,
                untilMs,
                reason:
                  error.retryAfterMs !== undefined
                    ? `429, Retry-After ${error.retryAfterMs} ms`
                    : "429, backoff",
              }),
            ),
            Effect.zipRight(Effect.suspend(() => from(tries + 1, retried))),
          );
        }
        const persisted = error.reason !== "rate_limited" ? persist : Effect.void;
        if (retried < retries && isTransient(error) && breaker.state() !== "open")
          return persisted.pipe(
            Effect.zipRight(backoff(state, retried + 1)),
            Effect.tap((delayMs) =>
              hub.events.publish({
                ...eventBase(context),
                type: "provider.retry",
                provider: target.provider,
                model: target.model,
                attempt: retried + 2,
                delayMs,
                reason: error.reason,
              }),
            ),
            // Interruptible: an aborted ask stops here, before another request is sent.
            Effect.flatMap((delayMs) => Effect.sleep(delayMs)),
            Effect.zipRight(Effect.suspend(() => from(tries, retried + 1))),
          );
        return Effect.zipRight(persisted, Effect.fail(error));
      };
      return Effect.matchEffect(run(key?.secret), {
        onSuccess: (value) => settle(value, report),
        onFailure: (error) => Effect.zipRight(onFailure(error), afterFailure(error)),
      });
    };
    // With no SDK registered the span is the shared non-recording one: nothing to describe.
    if (!tracingActive()) return called(noProviderSpan);
    const spanInput = {
      operation: info.operation === "embed" ? ("embeddings" as const) : ("chat" as const),
      provider: target.provider,
      otelProvider: target.kind === "builtin" ? target.otelName : target.provider,
      model: target.model,
      key: fingerprint,
      ...(context ? { context } : {}),
      ...(info.temperature !== undefined ? { temperature: info.temperature } : {}),
      ...(info.maxTokens !== undefined ? { maxTokens: info.maxTokens } : {}),
      stream: info.operation === "stream",
    };
    return Effect.flatMap(FiberRef.get(currentSpan), (parent) =>
      called(startProviderSpan({ ...spanInput, parent })),
    );
  };
  return from(0, 0);
};
