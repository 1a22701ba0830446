/**
 * Trace spans for the runtime: agent steps, tool calls, delegation, handoffs, workflow steps and
 * memory operations, nested by a FiberRef that holds the span in scope. Uses only
 * `@opentelemetry/api`; nothing is recorded unless an SDK is registered (see `protocols/telemetry.ts`
 * for the one `arbor serve` loads from `OTEL_*`).
 *
 * Gotcha: when no SDK is registered every helper here returns its effect untouched after one cheap
 * check, so the hot path pays nothing for tracing being available. Register your own SDK before the
 * first ask if you wire one by hand.
 */
import {
  type Attributes,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { Cause, Effect, Exit, FiberRef } from "effect";

/** The tracer every Arbor span comes from. */
export const arborTracer = () => trace.getTracer("arbor", "0.1.0");

const noopDelegate = new ProxyTracerProvider().getDelegate();

/** True when an OpenTelemetry SDK is registered: spans are worth making. */
export const tracingActive = (): boolean => {
  // The API hands out its proxy, whose delegate is the no-op provider until an SDK registers.
  const provider = trace.getTracerProvider() as Partial<ProxyTracerProvider>;
  return provider.getDelegate === undefined || provider.getDelegate() !== noopDelegate;
};

/** The span an effect runs inside (its children nest under it). Undefined outside any span. */
export const currentSpan: FiberRef.FiberRef<Span | undefined> = FiberRef.unsafeMake<Span | undefined>(
  undefined,
);

/** The span context in scope, as plain data that can travel in a message envelope. */
export const currentTraceParent: Effect.Effect<SpanContext | undefined> = Effect.map(
  FiberRef.get(currentSpan),
  (span) => span?.spanContext(),
);

/** Starts a span under `parent` (a live span or a span context carried by a message); a root without one. */
export const startSpan = (
  name: string,
  attributes: Attributes,
  parent: Span | SpanContext | undefined,
  kind: SpanKind = SpanKind.INTERNAL,
): Span => {
  const parentContext =
    parent === undefined
      ? ROOT_CONTEXT
      : "spanContext" in parent
        ? trace.setSpan(ROOT_CONTEXT, parent)
        : trace.setSpanContext(ROOT_CONTEXT, parent);
  return arborTracer().startSpan(name, { kind, attributes }, parentContext);
};

const errorTypeOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const tagged = error as { readonly _tag?: unknown; readonly reason?: unknown };
    if (typeof tagged.reason === "string") return tagged.reason;
    if (typeof tagged._tag === "string") return tagged._tag;
  }
  return typeof error === "string" ? "error" : "unknown";
};

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === "string" ? error : errorTypeOf(error);

/** Ends a span with an effect's exit: failures set `error.type` and an error status. */
export const endSpan = (span: Span, exit: Exit.Exit<unknown, unknown>): void => {
  if (Exit.isFailure(exit)) {
    if (Cause.isInterruptedOnly(exit.cause)) {
      span.setAttribute("arbor.interrupted", true);
    } else {
      const failure = Cause.squash(exit.cause);
      span.setAttribute("error.type", errorTypeOf(failure));
      span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(failure).slice(0, 500) });
    }
  }
  span.end();
};

/**
 * Runs `effect` inside a new span, child of the span in scope. `attributes` is a thunk so nothing is
 * computed when tracing is off.
 */
export const withSpan =
  (name: string, attributes: () => Attributes, kind: SpanKind = SpanKind.INTERNAL) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      if (!tracingActive()) return effect;
      return Effect.flatMap(FiberRef.get(currentSpan), (parent) => {
        const span = startSpan(name, attributes(), parent, kind);
        return effect.pipe(
          Effect.locally(currentSpan, span),
          Effect.onExit((exit) => Effect.sync(() => endSpan(span, exit))),
        );
      });
    });

/** Adds an event (a restart, a tripwire) to the span in scope, if any. */
export const spanEvent = (name: string, attributes: Attributes): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (!tracingActive()) return Effect.void;
    return Effect.map(FiberRef.get(currentSpan), (span) => {
      span?.addEvent(name, attributes);
    });
  });

/** Sets attributes on the span in scope (what became known while it ran: a decision, a count). */
export const spanAttributes = (attributes: Attributes): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (!tracingActive()) return Effect.void;
    return Effect.map(FiberRef.get(currentSpan), (span) => {
      span?.setAttributes(attributes);
    });
  });

/** Marks the span in scope as failed, for work that reports failure as a value (a tool's error result). */
export const markSpanFailed = (errorType: string, message: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (!tracingActive()) return Effect.void;
    return Effect.map(FiberRef.get(currentSpan), (span) => {
      span?.setAttribute("error.type", errorType);
      span?.setStatus({ code: SpanStatusCode.ERROR, message: message.slice(0, 500) });
    });
  });

/** The trace id in scope, for stamping events and replies; undefined when tracing is off. */
export const currentTraceId: Effect.Effect<string | undefined> = Effect.suspend(() =>
  tracingActive() ? Effect.map(currentTraceParent, (parent) => parent?.traceId) : Effect.succeed(undefined),
);
