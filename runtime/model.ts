/**
 * The model port: what an agent needs from a language model, independent of any vendor.
 * Provider adapters (plugins/providers) implement `ModelProvider`; the `ModelRouter` picks a
 * provider+model for each call (the kernel's default dispatches by name; the economic router in
 * plugins/providers replaces it with profiles, key pools, fallbacks and budgets).
 *
 * Gotcha: a provider signals an *abnormal agent crash* (the scripted `{crash}` step) with an
 * Effect defect (`Effect.die`), and a *provider error* with the typed `ProviderError`. The agent
 * step turns the first into a supervision decision and the second into a failed reply.
 */
import { Data, type Effect, type Stream } from "effect";
import type { Fault } from "./errors.ts";

/** A tool call the model asked for. `args` is whatever the model produced: validate before use. */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  readonly args: unknown;
}

/** A conversation message in the normalized format every adapter translates to and from. */
export type ChatMessage =
  | { readonly role: "system"; readonly content: string }
  | { readonly role: "user"; readonly content: string }
  | { readonly role: "assistant"; readonly content: string; readonly toolCalls?: ReadonlyArray<ToolCall> }
  | { readonly role: "tool"; readonly toolCallId: string; readonly name: string; readonly content: string };

/** A tool as offered to a model: JSON Schema for its input. */
export interface ToolSpec {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Readonly<Record<string, unknown>>;
}

/** Who is calling: used for scripted positions, budgets, the usage ledger and events. */
export interface CallContext {
  readonly tree: string;
  readonly address: string;
  readonly agentId: string;
  readonly tenant?: string;
}

/** Token usage, normalized across providers. */
export interface Usage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** What an agent asks a model for. `options` carries provider-specific settings from the spec (e.g. `script`). */
export interface ModelRequest {
  readonly model: string;
  readonly messages: ReadonlyArray<ChatMessage>;
  readonly tools?: ReadonlyArray<ToolSpec>;
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly options?: Readonly<Record<string, unknown>>;
  readonly context: CallContext;
}

/** A complete model answer. */
export interface ModelResponse {
  readonly text: string;
  readonly toolCalls: ReadonlyArray<ToolCall>;
  readonly usage: Usage;
  readonly finishReason: "stop" | "tool_calls" | "length" | "content_filter" | "other";
  readonly provider: string;
  readonly model: string;
  /**
   * What the call cost in USD, when the router knows the price (the economic router sets it; a
   * cached answer costs 0). The agent step reports it to the tripwires as `costUsd`.
   */
  readonly costUsd?: number;
}

/** Incremental output of a streaming call. */
export type ModelStreamEvent =
  | { readonly type: "text-delta"; readonly text: string }
  | {
      readonly type: "tool-call-delta";
      readonly id: string;
      readonly name?: string;
      readonly argsDelta: string;
    }
  | { readonly type: "tool-call"; readonly call: ToolCall }
  | {
      readonly type: "finish";
      readonly usage: Usage;
      readonly finishReason: ModelResponse["finishReason"];
    };

/** Embedding request and answer. */
export interface EmbedRequest {
  readonly model?: string;
  readonly inputs: ReadonlyArray<string>;
  readonly context?: CallContext;
}
export interface EmbedResponse {
  readonly vectors: ReadonlyArray<ReadonlyArray<number>>;
  readonly usage: Usage;
  readonly model: string;
}

/**
 * A provider failed. `retryable` tells the router whether a fallback may be tried; `retryAfterMs`
 * is the provider's own hint (Retry-After). The message never contains an API key.
 */
export class ProviderError extends Data.TaggedError("ProviderError")<{
  readonly reason:
    | "rate_limited"
    | "auth"
    | "bad_request"
    | "content_policy"
    | "server"
    | "network"
    | "timeout"
    | "malformed_response"
    | "unavailable"
    | "budget_exceeded"
    | "circuit_open"
    | "scripted";
  readonly provider: string;
  readonly model?: string;
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly detail: string;
}> {
  get fault(): Fault {
    switch (this.reason) {
      case "auth":
      case "unavailable":
        return "config";
      case "bad_request":
        return "user";
      case "content_policy":
      case "malformed_response":
        return "model";
      case "budget_exceeded":
        return "user";
      default:
        return "third_party";
    }
  }
  override get message(): string {
    return `${this.provider}${this.model ? `/${this.model}` : ""}: ${this.reason}${this.status ? ` (HTTP ${this.status})` : ""}: ${this.detail}`;
  }
}

/** A model provider adapter: `openai`, `anthropic`, `scripted`, … */
export interface ModelProvider {
  readonly name: string;
  /**
   * `false` when an answer depends on more than the request (the scripted provider's position in
   * its script): the response cache then never stores or serves this provider's answers.
   */
  readonly cacheable?: boolean;
  readonly generate: (request: ModelRequest) => Effect.Effect<ModelResponse, ProviderError>;
  readonly stream: (request: ModelRequest) => Stream.Stream<ModelStreamEvent, ProviderError>;
  readonly embed?: (request: EmbedRequest) => Effect.Effect<EmbedResponse, ProviderError>;
}

/** How an agent names its model in the spec: an explicit provider (+model), or a routing profile. */
export interface ModelChoice {
  readonly provider?: string;
  readonly model?: string;
  readonly profile?: string;
  readonly temperature?: number;
  readonly maxTokens?: number;
  /** Everything else from the spec's `model` object, handed to the provider as `options`. */
  readonly options?: Readonly<Record<string, unknown>>;
}

/** Looks up registered providers by name. */
export interface ProviderLookup {
  readonly get: (name: string) => ModelProvider | undefined;
  readonly names: () => ReadonlyArray<string>;
}

/**
 * Chooses a provider+model for each call. The kernel's default (`directModelRouter`) dispatches
 * to the named provider; plugins may install a smarter one through the plugin host.
 */
export interface ModelRouter {
  readonly generate: (
    choice: ModelChoice,
    request: Omit<ModelRequest, "model" | "options">,
  ) => Effect.Effect<ModelResponse, ProviderError>;
  readonly stream: (
    choice: ModelChoice,
    request: Omit<ModelRequest, "model" | "options">,
  ) => Stream.Stream<ModelStreamEvent, ProviderError>;
  readonly embed: (choice: ModelChoice, request: EmbedRequest) => Effect.Effect<EmbedResponse, ProviderError>;
}
