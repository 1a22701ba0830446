/**
 * A key pool: several API keys of one provider, rotated round-robin. A key answered with 429 /
 * quota-exceeded cools down (for the provider's `Retry-After`, else exponentially) and the caller
 * moves on to the next key at once. Optional per-key outbound limits (`rpm`, `tpm`) are kept
 * proactively over a sliding minute: a key that would exceed one is passed over, as if cooling.
 * Times are epoch ms read from Effect's Clock by the caller, so cooldowns and windows run on
 * TestClock in tests.
 *
 * Gotcha: a key's secret lives only in `KeyState.secret`; everything that leaves the pool
 * (snapshots, events, errors) carries the fingerprint.
 */
import type { PersistedKeyState } from "../../runtime/key-state.ts";
import { fingerprint } from "./errors.ts";

export type { PersistedKeyState };

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
  /** Requests of the last minute: when each was sent and the tokens estimated for it (oldest first). */
  recent: Array<readonly [time: number, tokens: number]>;
}

/** Per-key outbound limits: requests and (estimated) tokens per minute. */
export interface OutboundLimits {
  readonly rpm?: number;
  readonly tpm?: number;
}

/** No key is free: all cool down (`cooling`) or are at their rpm/tpm (`limited`) until `retryAtMs`. */
export interface NoKey {
  readonly retryAtMs: number;
  readonly why: "cooling" | "limited";
}

const WINDOW_MS = 60_000;

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
  /**
   * The next key not cooling at `now` and with room for a request of `tokens` (estimated) under its
   * limits, or the earliest time one will be free. Taking a key counts the request in its window.
   */
  readonly acquire: (now: number, tokens?: number) => KeyState | NoKey;
  /** When the first key is free again (now or later), without taking one. */
  readonly nextFreeAt: () => NoKey;
  /** Puts a key in cooldown; returns when it ends. */
  readonly cool: (key: KeyState, now: number, retryAfterMs: number | undefined) => number;
  readonly succeeded: (key: KeyState, tokens: number) => void;
  readonly failed: (key: KeyState) => void;
  readonly snapshot: (now: number) => ReadonlyArray<KeySnapshot>;
  /** What to persist of a key. */
  readonly persisted: (key: KeyState) => PersistedKeyState;
  /** Takes back persisted state for the keys it matches by fingerprint. */
  readonly restore: (saved: ReadonlyArray<PersistedKeyState>) => void;
}

const newKey = (secret: string | undefined): KeyState => ({
  secret,
  fingerprint: fingerprint(secret),
  coolingUntil: 0,
  streak: 0,
  counters: { requests: 0, tokens: 0, failures: 0, cooldowns: 0 },
  recent: [],
});

/** When `key` has room for a request of `tokens` under `limits` (now or later). */
const roomAt = (key: KeyState, limits: OutboundLimits, now: number, tokens: number): number => {
  while (key.recent.length > 0 && key.recent[0]![0] <= now - WINDOW_MS) key.recent.shift();
  let at = now;
  if (limits.rpm !== undefined && key.recent.length >= limits.rpm) {
    // the request that must leave the window before one more fits
    at = Math.max(at, key.recent[key.recent.length - Math.floor(limits.rpm)]![0] + WINDOW_MS);
  }
  if (limits.tpm !== undefined && key.recent.length > 0) {
    let used = key.recent.reduce((sum, [, t]) => sum + t, 0);
    // a request larger than the whole budget still goes once the window is empty
    const need = Math.min(tokens, limits.tpm);
    for (const [time, t] of key.recent) {
      if (used + need <= limits.tpm) break;
      used -= t;
      at = Math.max(at, time + WINDOW_MS);
    }
  }
  return at;
};

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
  limits: OutboundLimits = {},
): KeyPool => {
  const keys = (secrets.length === 0 ? [undefined] : secrets).map(
    (secret) => previous?.keys.find((k) => k.secret === secret) ?? newKey(secret),
  );
  let cursor = 0;
  return {
    provider,
    keys,
    acquire: (now, tokens = 0) => {
      let earliest = Number.POSITIVE_INFINITY;
      let limited = false;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[(cursor + i) % keys.length]!;
        if (key.coolingUntil > now) {
          earliest = Math.min(earliest, key.coolingUntil);
          continue;
        }
        const room = roomAt(key, limits, now, tokens);
        if (room <= now) {
          cursor = (cursor + i + 1) % keys.length;
          key.counters.requests++;
          if (limits.rpm !== undefined || limits.tpm !== undefined) key.recent.push([now, tokens]);
          return key;
        }
        limited = true;
        earliest = Math.min(earliest, room);
      }
      return { retryAtMs: earliest, why: limited ? "limited" : "cooling" };
    },
    nextFreeAt: () => ({ retryAtMs: Math.min(...keys.map((k) => k.coolingUntil)), why: "cooling" }),
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
    persisted: (k) => ({
      provider,
      fingerprint: k.fingerprint,
      coolingUntil: k.coolingUntil,
      streak: k.streak,
      recent: [...k.recent],
      ...k.counters,
    }),
    restore: (saved) => {
      for (const s of saved) {
        if (s.provider !== provider) continue;
        const key = keys.find((k) => k.fingerprint === s.fingerprint);
        if (!key) continue;
        key.coolingUntil = Math.max(key.coolingUntil, s.coolingUntil);
        key.streak = s.streak;
        key.recent = [...s.recent];
        key.counters.requests = s.requests;
        key.counters.tokens = s.tokens;
        key.counters.failures = s.failures;
        key.counters.cooldowns = s.cooldowns;
      }
    },
  };
};
