/**
 * An optional response cache (off by default): complete answers keyed by a SHA-256 hash of the
 * normalized request (who is asked and what), kept for a TTL measured on Effect's Clock.
 *
 * Gotcha: the caller's identity (tree, agent) is not part of the key, so two agents asking the
 * same thing share an answer; that is the point, but keep it off for non-deterministic uses.
 */
import { createHash } from "node:crypto";
import type { ModelChoice, ModelRequest, ModelResponse } from "../../runtime/model.ts";

/** The cache. */
export interface ResponseCache {
  readonly get: (key: string, now: number) => ModelResponse | undefined;
  readonly set: (key: string, value: ModelResponse, now: number) => void;
  readonly size: () => number;
}

/** The cache key of a request: what is asked, not who asks. */
export const cacheKey = (choice: ModelChoice, request: Omit<ModelRequest, "model" | "options">): string =>
  createHash("sha256")
    .update(
      JSON.stringify([
        choice.profile ?? null,
        choice.provider ?? null,
        choice.model ?? null,
        choice.temperature ?? request.temperature ?? null,
        choice.maxTokens ?? request.maxTokens ?? null,
        choice.options ?? null,
        request.messages,
        request.tools ?? null,
      ]),
    )
    .digest("hex");

/** Makes an LRU-ish cache (oldest insert evicted first) holding at most `maxEntries`. */
export const makeResponseCache = (settings: {
  readonly ttlMs: number;
  readonly maxEntries: number;
}): ResponseCache => {
  const entries = new Map<string, { readonly value: ModelResponse; readonly expiresAt: number }>();
  return {
    get: (key, now) => {
      const hit = entries.get(key);
      if (!hit) return undefined;
      if (hit.expiresAt <= now) {
        entries.delete(key);
        return undefined;
      }
      return hit.value;
    },
    set: (key, value, now) => {
      entries.delete(key);
      entries.set(key, { value, expiresAt: now + settings.ttlMs });
      while (entries.size > settings.maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
    size: () => entries.size,
  };
};
