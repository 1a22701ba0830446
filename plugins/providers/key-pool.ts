/**
 * A key pool: several API keys of one provider, rotated round-robin. A key answered with 429 /
 * quota-exceeded cools down (for the provider's `Retry-After`, else exponentially) and the caller
 * moves on to the next key at once. Times are epoch ms read from Effect's Clock by the caller, so
 * cooldowns run on TestClock in tests.
 *
 * Gotcha: a key's secret lives only in `KeyState.secret`; everything that leaves the pool
 * (snapshots, events, errors) carries the fingerprint.
 */
import { fingerprint } from "./errors.ts";

/** Per-key counters. */
export interface KeyCounters {
  requests: number;
  tokens: number;
  failures: number;
  cooldowns: number;
}

/** One key and its live state. Mutable on purpose: it is updated on the hot path. */
export interface KeyState {
  readonly secret: string | undefined;
  readonly fingerprint: string;
  coolingUntil: number;
  /** Cooldowns in a row without a success in between: drives the exponential backoff. */
  streak: number;
  readonly counters: KeyCounters;
}

/** What status shows of one key. */
export interface KeySnapshot extends KeyCounters {
  readonly fingerprint: string;
  readonly cooling: boolean;
  readonly coolingUntil?: number;
}

/** Backoff settings. */
export interface CooldownSettings {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** A provider's keys. */
export interface KeyPool {
  readonly provider: string;
  readonly keys: ReadonlyArray<KeyState>;
  /** The next key not cooling at `now`, or the earliest time one will be free. */
  readonly acquire: (now: number) => KeyState | { readonly retryAtMs: number };
  /** When the first key is free again (now or later), without taking one. */
  readonly nextFreeAt: () => { readonly retryAtMs: number };
  /** Puts a key in cooldown; returns when it ends. */
  readonly cool: (key: KeyState, now: number, retryAfterMs: number | undefined) => number;
  readonly succeeded: (key: KeyState, tokens: number) => void;
  readonly failed: (key: KeyState) => void;
  readonly snapshot: (now: number) => ReadonlyArray<KeySnapshot>;
}

const newKey = (secret: string | undefined): KeyState => ({
  secret,
  fingerprint: fingerprint(secret),
  coolingUntil: 0,
  streak: 0,
  counters: { requests: 0, tokens: 0, failures: 0, cooldowns: 0 },
});

/**
 * Makes a pool. `previous` carries over the state (cooldowns, counters) of keys that are still
 * configured, so a hot reload does not forget that a key is cooling.
 * A keyless provider (Ollama) gets one slot with no secret.
 */
export const makeKeyPool = (
  provider: string,
  secrets: ReadonlyArray<string | undefined>,
  settings: CooldownSettings,
  previous?: KeyPool,
): KeyPool => {
  const keys = (secrets.length === 0 ? [undefined] : secrets).map(
    (secret) => previous?.keys.find((k) => k.secret === secret) ?? newKey(secret),
  );
  let cursor = 0;
  return {
    provider,
    keys,
    acquire: (now) => {
      let earliest = Number.POSITIVE_INFINITY;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[(cursor + i) % keys.length]!;
        if (key.coolingUntil <= now) {
          cursor = (cursor + i + 1) % keys.length;
          key.counters.requests++;
          return key;
        }
        earliest = Math.min(earliest, key.coolingUntil);
      }
      return { retryAtMs: earliest };
    },
    nextFreeAt: () => ({ retryAtMs: Math.min(...keys.map((k) => k.coolingUntil)) }),
    cool: (key, now, retryAfterMs) => {
      const backoff = Math.min(settings.maxMs, settings.baseMs * 2 ** key.streak);
      key.streak++;
      key.counters.cooldowns++;
      key.counters.failures++;
      key.coolingUntil = now + (retryAfterMs ?? backoff);
      return key.coolingUntil;
    },
    succeeded: (key, tokens) => {
      key.streak = 0;
      key.counters.tokens += tokens;
    },
    failed: (key) => {
      key.counters.failures++;
    },
    snapshot: (now) =>
      keys.map((k) => ({
        fingerprint: k.fingerprint,
        cooling: k.coolingUntil > now,
        ...(k.coolingUntil > now ? { coolingUntil: k.coolingUntil } : {}),
        ...k.counters,
      })),
  };
};
