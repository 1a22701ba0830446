/**
 * The built-in routing profiles and price lookup. Profiles are ordered candidate lists: the router
 * tries the first available one and falls back down the list on retryable errors.
 *
 * Gotcha: model names and prices change; these defaults (USD per million tokens, list prices as of
 * 2025) are a starting point. Override any profile under `profiles` in `arbor.config.json`.
 * Candidates whose provider is not configured are skipped.
 */
import type { Candidate } from "./config.ts";

const c = (
  provider: string,
  model: string,
  inputCostPerMTok: number,
  outputCostPerMTok: number,
): Candidate => ({
  provider,
  model,
  inputCostPerMTok,
  outputCostPerMTok,
});

/** Default profiles: `cheap`, `balanced`, `quality`. */
export const DEFAULT_PROFILES: Readonly<Record<string, ReadonlyArray<Candidate>>> = {
  cheap: [
    c("groq", "llama-3.1-8b-instant", 0.05, 0.08),
    c("cerebras", "llama3.1-8b", 0.1, 0.1),
    c("google", "gemini-2.0-flash", 0.1, 0.4),
    c("openai", "gpt-4o-mini", 0.15, 0.6),
    c("deepseek", "deepseek-chat", 0.27, 1.1),
    c("openrouter", "openai/gpt-4o-mini", 0.15, 0.6),
    c("ollama", "llama3.2", 0, 0),
  ],
  balanced: [
    c("google", "gemini-2.5-flash", 0.3, 2.5),
    c("openai", "gpt-4.1-mini", 0.4, 1.6),
    c("deepseek", "deepseek-chat", 0.27, 1.1),
    c("anthropic", "claude-3-5-haiku-latest", 0.8, 4),
    c("groq", "llama-3.3-70b-versatile", 0.59, 0.79),
    c("openrouter", "openai/gpt-4.1-mini", 0.4, 1.6),
  ],
  quality: [
    c("anthropic", "claude-sonnet-4-5", 3, 15),
    c("openai", "gpt-4.1", 2, 8),
    c("google", "gemini-2.5-pro", 1.25, 10),
    c("openrouter", "anthropic/claude-sonnet-4.5", 3, 15),
  ],
};

/** Finds the price of a provider+model in any profile; zero when nobody priced it. */
export const priceOf = (
  profiles: Readonly<Record<string, ReadonlyArray<Candidate>>>,
  provider: string,
  model: string,
): { readonly inputCostPerMTok: number; readonly outputCostPerMTok: number } => {
  for (const list of Object.values(profiles))
    for (const candidate of list)
      if (candidate.provider === provider && candidate.model === model) return candidate;
  return { inputCostPerMTok: 0, outputCostPerMTok: 0 };
};

/** Cost in USD of a call. */
export const costOf = (
  price: { readonly inputCostPerMTok: number; readonly outputCostPerMTok: number },
  usage: { readonly inputTokens: number; readonly outputTokens: number },
): number =>
  (usage.inputTokens * price.inputCostPerMTok + usage.outputTokens * price.outputCostPerMTok) / 1e6;
