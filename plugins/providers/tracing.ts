/**
 * OpenTelemetry spans for provider calls, with the GenAI semantic-convention attributes
 * (`gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.usage.*`).
 * Uses only `@opentelemetry/api`: with no SDK installed by the application, spans are no-ops.
 * Gotcha: never put a key on a span; `arbor.key` carries the fingerprint.
 */
import {
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { CallContext, Usage } from "../../runtime/model.ts";
import { tracingActive } from "../../runtime/tracing.ts";

const tracer = () => trace.getTracer("arbor.providers", "0.1.0");
/** The span of every provider call while no SDK is registered: shared, non-recording. */
export const noProviderSpan: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
const noSpan = noProviderSpan;

/**
 * Starts a client span for one provider attempt, a child of `parent` (the agent step or tool span in
 * scope). Without a registered SDK it returns a shared non-recording span and costs nothing.
 */
export const startProviderSpan = (input: {
  readonly operation: "chat" | "embeddings";
  readonly provider: string;
  readonly otelProvider: string;
  readonly model: string;
  readonly key: string;
  readonly context?: CallContext;
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly stream?: boolean;
  readonly parent?: Span | undefined;
}): Span => {
  if (!tracingActive()) return noSpan;
  return tracer().startSpan(
    `${input.operation} ${input.model}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "gen_ai.operation.name": input.operation,
        "gen_ai.provider.name": input.otelProvider,
        "gen_ai.system": input.otelProvider,
        "gen_ai.request.model": input.model,
        ...(input.temperature !== undefined ? { "gen_ai.request.temperature": input.temperature } : {}),
        ...(input.maxTokens !== undefined ? { "gen_ai.request.max_tokens": input.maxTokens } : {}),
        ...(input.stream ? { "gen_ai.request.stream": true } : {}),
        "arbor.provider": input.provider,
        "arbor.key": input.key,
        ...(input.context
          ? {
              "arbor.tree": input.context.tree,
              "arbor.agent.address": input.context.address,
              "arbor.agent.id": input.context.agentId,
              ...(input.context.tenant !== undefined ? { "arbor.tenant": input.context.tenant } : {}),
            }
          : {}),
      },
    },
    input.parent ? trace.setSpan(ROOT_CONTEXT, input.parent) : undefined,
  );
};

/** Ends a span with the call's outcome. */
export const endProviderSpan = (
  span: Span,
  outcome:
    | { readonly ok: true; readonly usage: Usage; readonly model: string; readonly finishReason?: string }
    | { readonly ok: false; readonly reason: string; readonly message: string },
): void => {
  if (outcome.ok) {
    span.setAttributes({
      "gen_ai.response.model": outcome.model,
      "gen_ai.usage.input_tokens": outcome.usage.inputTokens,
      "gen_ai.usage.output_tokens": outcome.usage.outputTokens,
      ...(outcome.finishReason ? { "gen_ai.response.finish_reasons": [outcome.finishReason] } : {}),
    });
  } else {
    span.setAttribute("error.type", outcome.reason);
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.message });
  }
  span.end();
};
