/**
 * A provider driver: one vendor's wire format, called with one API key. Drivers know nothing of
 * pools, fallbacks or budgets; the router wraps them (`pooled-call.ts`) and registers the result
 * with the plugin host as a `ModelProvider`.
 */
import type { Effect, Stream } from "effect";
import type {
  EmbedRequest,
  EmbedResponse,
  ModelRequest,
  ModelResponse,
  ModelStreamEvent,
  ProviderError,
} from "../../runtime/model.ts";

/** Where and how to reach one provider: resolved from config and environment. */
export interface ProviderEndpoint {
  readonly baseUrl: string;
  /** Extra headers sent on every request (OpenRouter's `HTTP-Referer`/`X-Title`, …). Never a key. */
  readonly headers: Readonly<Record<string, string>>;
  /** Per-attempt timeout. */
  readonly timeoutMs: number;
}

/** One vendor adapter, keyed per call. `secret` is undefined for keyless providers (Ollama). */
export interface ProviderDriver {
  readonly name: string;
  readonly generate: (
    secret: string | undefined,
    request: ModelRequest,
  ) => Effect.Effect<ModelResponse, ProviderError>;
  /**
   * Opens a stream: the outer Effect succeeds once the provider accepted the request (HTTP 200),
   * so rotation and fallback can happen before any delta reaches the agent.
   */
  readonly stream: (
    secret: string | undefined,
    request: ModelRequest,
  ) => Effect.Effect<Stream.Stream<ModelStreamEvent, ProviderError>, ProviderError>;
  readonly embed?: (
    secret: string | undefined,
    request: EmbedRequest & { readonly model: string },
  ) => Effect.Effect<EmbedResponse, ProviderError>;
}
