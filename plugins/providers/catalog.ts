/**
 * The providers Arbor knows: names, environment variables, default endpoints, and how to build
 * each one's driver. OpenAI, Anthropic and Google use their AI SDK packages; OpenRouter, DeepSeek,
 * Groq and Cerebras speak the OpenAI chat-completions format through `@ai-sdk/openai-compatible`
 * with their own base URL and headers; Ollama has its own small driver.
 */

import { createAnthropic } from "@ai-sdk/anthropic";
import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { makeAiSdkDriver } from "./ai-sdk-driver.ts";
import type { ProviderDriver, ProviderEndpoint } from "./driver.ts";
import { makeOllamaDriver } from "./ollama.ts";
import { withSafeToolNames } from "./tool-names.ts";

/** Names of the built-in providers. */
export const PROVIDER_NAMES = [
  "openai",
  "anthropic",
  "google",
  "openrouter",
  "deepseek",
  "groq",
  "cerebras",
  "ollama",
] as const;

/** A built-in provider's name. */
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** Other names people use for a built-in provider. */
export const PROVIDER_ALIASES: Readonly<Record<string, ProviderName>> = { gemini: "google" };

/** Static facts about one built-in provider. */
export interface CatalogEntry {
  readonly name: ProviderName;
  /** Prefix of its environment variables: `<P>_API_KEY`, `<P>_API_KEYS`, `<P>_API_KEY_1..N`, `<P>_BASE_URL`. */
  readonly envPrefix: string;
  /** Ollama needs no key: it is available when `OLLAMA_BASE_URL` is set. */
  readonly keyless: boolean;
  /** Undefined when the user must set one (Ollama). */
  readonly defaultBaseUrl?: string;
  readonly defaultHeaders: Readonly<Record<string, string>>;
  readonly embeddings: boolean;
  /** The model used when a spec names the provider but no model. */
  readonly defaultModel: string;
  /** OpenTelemetry GenAI `gen_ai.provider.name` value. */
  readonly otelName: string;
}

/** The catalog, by name. */
export const CATALOG: Readonly<Record<ProviderName, CatalogEntry>> = {
  openai: entry("openai", "OPENAI", "https://api.openai.com/v1", "gpt-4o-mini", "openai", true),
  anthropic: entry(
    "anthropic",
    "ANTHROPIC",
    "https://api.anthropic.com/v1",
    "claude-3-5-haiku-latest",
    "anthropic",
  ),
  google: entry(
    "google",
    "GEMINI",
    "https://generativelanguage.googleapis.com/v1beta",
    "gemini-2.0-flash",
    "gcp.gemini",
    true,
  ),
  openrouter: {
    ...entry("openrouter", "OPENROUTER", "https://openrouter.ai/api/v1", "openai/gpt-4o-mini", "openrouter"),
    defaultHeaders: { "X-Title": "Arbor" },
  },
  deepseek: entry("deepseek", "DEEPSEEK", "https://api.deepseek.com/v1", "deepseek-chat", "deepseek"),
  groq: entry("groq", "GROQ", "https://api.groq.com/openai/v1", "llama-3.1-8b-instant", "groq"),
  cerebras: entry("cerebras", "CEREBRAS", "https://api.cerebras.ai/v1", "llama3.1-8b", "cerebras"),
  ollama: {
    name: "ollama",
    envPrefix: "OLLAMA",
    keyless: true,
    defaultHeaders: {},
    embeddings: true,
    defaultModel: "llama3.2",
    otelName: "ollama",
  },
};

function entry(
  name: ProviderName,
  envPrefix: string,
  defaultBaseUrl: string,
  defaultModel: string,
  otelName: string,
  embeddings = false,
): CatalogEntry {
  return {
    name,
    envPrefix,
    keyless: false,
    defaultBaseUrl,
    defaultHeaders: {},
    embeddings,
    defaultModel,
    otelName,
  };
}

/** Resolves a provider name or alias to a built-in provider, if it is one. */
export const builtinName = (name: string): ProviderName | undefined =>
  (PROVIDER_NAMES as ReadonlyArray<string>).includes(name) ? (name as ProviderName) : PROVIDER_ALIASES[name];

/** Builds the driver of a built-in provider for an endpoint. No I/O happens here. */
/** Makes the driver for a provider; tool names are made acceptable to the vendor on the way. */
export const makeDriver = (name: ProviderName, endpoint: ProviderEndpoint): ProviderDriver =>
  withSafeToolNames(makeVendorDriver(name, endpoint));

/**
 * Makes the driver of a custom provider: any endpoint speaking the OpenAI chat-completions format
 * (vLLM, LM Studio, llama.cpp server, …), through `@ai-sdk/openai-compatible`. No I/O here.
 */
export const makeOpenAICompatibleDriver = (name: string, endpoint: ProviderEndpoint): ProviderDriver =>
  withSafeToolNames(
    makeAiSdkDriver({
      name,
      timeoutMs: endpoint.timeoutMs,
      embeddings: false,
      make: (apiKey) => {
        const p = createOpenAICompatible({
          name,
          ...(apiKey ? { apiKey } : {}),
          baseURL: endpoint.baseUrl,
          headers: { ...endpoint.headers },
          includeUsage: true,
        });
        return { chat: (m) => p.chatModel(m) };
      },
    }),
  );

const makeVendorDriver = (name: ProviderName, endpoint: ProviderEndpoint): ProviderDriver => {
  const { baseUrl: baseURL, timeoutMs } = endpoint;
  const headers = { ...endpoint.headers };
  switch (name) {
    case "openai":
      return makeAiSdkDriver({
        name,
        timeoutMs,
        embeddings: true,
        make: (apiKey) => {
          const p = createOpenAI({ apiKey: apiKey ?? "", baseURL, headers });
          return { chat: (m) => p.chat(m), embedding: (m) => p.embedding(m) };
        },
      });
    case "anthropic":
      return makeAiSdkDriver({
        name,
        timeoutMs,
        embeddings: false,
        make: (apiKey) => {
          const p = createAnthropic({ apiKey: apiKey ?? "", baseURL, headers });
          return { chat: (m) => p.chat(m) };
        },
      });
    case "google":
      return makeAiSdkDriver({
        name,
        timeoutMs,
        embeddings: true,
        make: (apiKey) => {
          const p = createGoogleGenerativeAI({ apiKey: apiKey ?? "", baseURL, headers });
          return { chat: (m) => p.chat(m), embedding: (m) => p.embedding(m) };
        },
      });
    case "ollama":
      return makeOllamaDriver({ baseUrl: baseURL, headers, timeoutMs });
    default:
      return makeAiSdkDriver({
        name,
        timeoutMs,
        embeddings: false,
        make: (apiKey) => {
          const p = createOpenAICompatible({
            name,
            apiKey: apiKey ?? "",
            baseURL,
            headers,
            includeUsage: true,
          });
          return { chat: (m) => p.chatModel(m) };
        },
      });
  }
};
