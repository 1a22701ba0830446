/**
 * Retry policy of one candidate: which failures are worth the same request again, and how long to
 * wait before retry n (exponential, capped, with jitter from Effect's Random so tests control it).
 */
import { Effect, Random } from "effect";
import type { ProviderError } from "../../runtime/model.ts";
import type { RoutingState } from "./hub.ts";

/** 5xx, timeouts and connection errors: worth the same request again after a pause. */
export const isTransient = (error: ProviderError) =>
  error.reason === "server" || error.reason === "timeout" || error.reason === "network";

/** Exponential backoff with jitter (from Effect's Random, so tests control it): `base · 2^(n-1) · [0.5, 1)`, capped. */
export const backoff = (state: RoutingState, retry: number) =>
  Effect.map(Random.next, (jitter) => {
    const { retryBaseMs, retryMaxMs } = state.config.routing;
    return Math.round(Math.min(retryMaxMs, retryBaseMs * 2 ** (retry - 1)) * (0.5 + jitter / 2));
  });
