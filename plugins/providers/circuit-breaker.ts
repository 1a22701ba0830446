/**
 * A circuit breaker per provider+model: closed → open after N consecutive failures → half-open
 * after a cool-off → closed after M successes (a failure while half-open opens it again). Only
 * failures that say something about the model's health count (server errors, timeouts, network,
 * malformed answers); rate limits belong to the key pool and client errors to the caller.
 */
import type { ProviderError } from "../../runtime/model.ts";

/** The breaker's state. */
export type CircuitState = "closed" | "open" | "half_open";

/** Thresholds. */
export interface CircuitSettings {
  readonly failureThreshold: number;
  readonly coolOffMs: number;
  readonly successThreshold: number;
}

/** A state change, for the `circuit.*` events. */
export interface CircuitTransition {
  readonly to: CircuitState;
  readonly reason: string;
}

/** One breaker. Times are epoch ms from Effect's Clock. */
export interface CircuitBreaker {
  readonly state: () => CircuitState;
  /** Whether a call may go through at `now`; moves open → half-open when the cool-off is over. */
  readonly allow: (now: number) => { readonly allowed: boolean; readonly transition?: CircuitTransition };
  /** When an open breaker will let a trial call through. */
  readonly retryAtMs: () => number;
  readonly succeeded: () => CircuitTransition | undefined;
  readonly failed: (now: number, error: ProviderError) => CircuitTransition | undefined;
}

/** Whether an error counts against a model's health. */
export const countsAsFailure = (error: ProviderError): boolean =>
  error.reason === "server" ||
  error.reason === "timeout" ||
  error.reason === "network" ||
  error.reason === "malformed_response";

/**
 * Makes a closed breaker. Pass a getter to have thresholds follow a hot reload while the breaker
 * keeps its state.
 */
export const makeCircuitBreaker = (given: CircuitSettings | (() => CircuitSettings)): CircuitBreaker => {
  const current = typeof given === "function" ? given : () => given;
  let state: CircuitState = "closed";
  let failures = 0;
  let successes = 0;
  let openedAt = 0;
  const open = (now: number, reason: string): CircuitTransition => {
    state = "open";
    openedAt = now;
    successes = 0;
    return { to: "open", reason };
  };
  return {
    state: () => state,
    allow: (now) => {
      if (state !== "open") return { allowed: true };
      if (now < openedAt + current().coolOffMs) return { allowed: false };
      state = "half_open";
      successes = 0;
      return {
        allowed: true,
        transition: { to: "half_open", reason: `cool-off of ${current().coolOffMs} ms over` },
      };
    },
    retryAtMs: () => openedAt + current().coolOffMs,
    succeeded: () => {
      failures = 0;
      if (state !== "half_open") return undefined;
      successes++;
      if (successes < current().successThreshold) return undefined;
      state = "closed";
      return { to: "closed", reason: `${successes} successful calls while half-open` };
    },
    failed: (now, error) => {
      if (!countsAsFailure(error)) return undefined;
      if (state === "half_open") return open(now, `failed while half-open: ${error.reason}`);
      failures++;
      if (state === "closed" && failures >= current().failureThreshold)
        return open(now, `${failures} consecutive failures, last: ${error.reason}`);
      return undefined;
    },
  };
};
