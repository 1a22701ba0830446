/**
 * Turning whatever a provider library or a socket threw into a typed `ProviderError`, and keeping
 * API keys out of every message on the way.
 */
import { createHash } from "node:crypto";
import { APICallError } from "@ai-sdk/provider";
import { Data } from "effect";
import type { Fault, Problem } from "../../runtime/errors.ts";
import { ProviderError } from "../../runtime/model.ts";

/** The `providers`/`profiles`/`budgets`/`cache` configuration was refused; `problems` lists every problem. */
export class ProviderConfigError extends Data.TaggedError("ProviderConfigError")<{
  readonly reason: "invalid_config";
  readonly problems: ReadonlyArray<Problem>;
}> {
  readonly fault: Fault = "config";
  override get message(): string {
    return `invalid provider configuration:\n${this.problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`;
  }
}

/** Replaces every occurrence of a known secret in `text` by its fingerprint. */
export const scrub = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join(fingerprint(secret));
  }
  return out;
};

/**
 * What a person may see of a key: `sha256:` and the first 8 hex digits of its SHA-256 hash. Two keys
 * that share an ending get different fingerprints, and nothing of the key itself is shown.
 * Gotcha: 32 bits tell a handful of keys apart, not an attacker's guesses; never log a key itself.
 */
export const fingerprint = (secret: string | undefined): string =>
  secret === undefined ? "none" : `sha256:${createHash("sha256").update(secret).digest("hex").slice(0, 8)}`;

/** Reads `Retry-After` (seconds or an HTTP date) and `retry-after-ms`; undefined when absent or unreadable. */
export const parseRetryAfter = (
  headers: Readonly<Record<string, string | undefined>> | undefined,
  nowMs: number,
): number | undefined => {
  if (!headers) return undefined;
  const lower = (name: string) => {
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
    return undefined;
  };
  const ms = lower("retry-after-ms");
  if (ms !== undefined && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = lower("retry-after");
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
};

/** Pulls a human-readable message out of a provider's JSON error body, whatever its shape. */
const bodyMessage = (body: string | undefined): string | undefined => {
  if (!body) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    const pick = (v: unknown): string | undefined => {
      if (typeof v === "string") return v;
      if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        return pick(o.error) ?? pick(o.message);
      }
      return undefined;
    };
    return pick(parsed) ?? body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
};

const CONTENT_POLICY = /content[_ -]?(policy|filter|management)|safety|moderation/i;
const QUOTA = /quota|rate[_ -]?limit|resource[_ ]exhausted|too many requests/i;

/** Classifies an HTTP status (plus the provider's message) into a ProviderError. */
export const errorForStatus = (input: {
  readonly provider: string;
  readonly model?: string;
  readonly status: number;
  readonly message?: string;
  readonly retryAfterMs?: number;
  readonly secrets: ReadonlyArray<string>;
}): ProviderError => {
  const { status } = input;
  const text = scrub(input.message ?? `HTTP ${status}`, input.secrets);
  const base = { provider: input.provider, model: input.model, status };
  if (status === 429 || (status === 403 && QUOTA.test(text)))
    return new ProviderError({
      ...base,
      reason: "rate_limited",
      retryable: true,
      retryAfterMs: input.retryAfterMs,
      detail: text,
    });
  if (status === 401 || status === 403)
    return new ProviderError({
      ...base,
      reason: "auth",
      retryable: false,
      detail: `the provider refused the API key (${text}); check the key`,
    });
  if (status === 408 || status === 504)
    return new ProviderError({ ...base, reason: "timeout", retryable: true, detail: text });
  if (status >= 500) return new ProviderError({ ...base, reason: "server", retryable: true, detail: text });
  if (CONTENT_POLICY.test(text))
    return new ProviderError({ ...base, reason: "content_policy", retryable: false, detail: text });
  if (status >= 400)
    return new ProviderError({ ...base, reason: "bad_request", retryable: false, detail: text });
  return new ProviderError({
    ...base,
    reason: "malformed_response",
    retryable: false,
    detail: `unexpected answer: ${text}`,
  });
};

/** Any AI SDK / fetch / parse failure → ProviderError, keys scrubbed. */
export const toProviderError = (
  error: unknown,
  context: { readonly provider: string; readonly model?: string; readonly secrets: ReadonlyArray<string> },
  nowMs: number,
): ProviderError => {
  if (error instanceof ProviderError) return error;
  const { provider, model, secrets } = context;
  if (APICallError.isInstance(error)) {
    if (error.statusCode === undefined) {
      return new ProviderError({
        provider,
        model,
        reason: "network",
        retryable: true,
        detail: scrub(`cannot reach ${error.url}: ${error.message}`, secrets),
      });
    }
    if (error.statusCode >= 200 && error.statusCode < 300) {
      return new ProviderError({
        provider,
        model,
        status: error.statusCode,
        reason: "malformed_response",
        retryable: false,
        detail: scrub(`the provider's answer could not be read: ${error.message}`, secrets),
      });
    }
    return errorForStatus({
      provider,
      model,
      status: error.statusCode,
      message: bodyMessage(error.responseBody) ?? error.message,
      retryAfterMs: parseRetryAfter(error.responseHeaders, nowMs),
      secrets,
    });
  }
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  if (name === "AbortError" || name === "TimeoutError")
    return new ProviderError({
      provider,
      model,
      reason: "timeout",
      retryable: true,
      detail: "the call timed out",
    });
  if (/fetch failed|ECONNREFUSED|ECONNRESET|socket|network|terminated/i.test(message) && !/JSON/.test(name))
    return new ProviderError({
      provider,
      model,
      reason: "network",
      retryable: true,
      detail: scrub(message, secrets),
    });
  return new ProviderError({
    provider,
    model,
    reason: "malformed_response",
    retryable: false,
    detail: scrub(`the provider's answer could not be read: ${name ? `${name}: ` : ""}${message}`, secrets),
  });
};
