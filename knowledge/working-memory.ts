/**
 * Working memory: the short-lived tier of facts, kept in process. Bounded (the least recently
 * written entries go first) and timed by Effect's Clock, so TTLs are testable with `TestClock`.
 * It keeps no history: a newer value replaces the older one (unless the attribute is multi-valued).
 */
import { Clock, Effect } from "effect";
import type { Fact } from "./graph-store.ts";

/** The working-memory tier. */
export interface WorkingMemory {
  readonly set: (fact: {
    readonly entity: string;
    readonly attribute: string;
    readonly value: unknown;
    readonly ttlMs: number;
    readonly multi: boolean;
  }) => Effect.Effect<{ readonly superseded: number; readonly expiresAt: number }>;
  /** Facts of an entity that are current at `asOf` (default now). */
  readonly get: (entity: string, attribute?: string, asOf?: number) => Effect.Effect<ReadonlyArray<Fact>>;
  readonly forget: (entity: string, attribute?: string) => Effect.Effect<number>;
  readonly size: () => number;
}

/** Makes a working memory holding at most `capacity` facts (default 10,000). */
export const makeWorkingMemory = (options: { readonly capacity?: number } = {}): WorkingMemory => {
  const capacity = Math.max(1, options.capacity ?? 10_000);
  // key: entity \u0000 attribute \u0000 JSON(value) — insertion order is write order
  const entries = new Map<string, Fact>();
  const prefix = (entity: string, attribute?: string) =>
    attribute === undefined ? `${entity}\u0000` : `${entity}\u0000${attribute}\u0000`;
  const dropExpired = (now: number) => {
    for (const [key, fact] of entries)
      if (fact.expiresAt !== null && fact.expiresAt <= now) entries.delete(key);
  };
  return {
    set: ({ entity, attribute, value, ttlMs, multi }) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        dropExpired(now);
        let superseded = 0;
        const key = `${prefix(entity, attribute)}${JSON.stringify(value)}`;
        if (!multi) {
          for (const k of [...entries.keys()]) {
            if (k.startsWith(prefix(entity, attribute)) && k !== key) {
              entries.delete(k);
              superseded++;
            }
          }
        }
        const kept = entries.get(key);
        entries.delete(key);
        const expiresAt = now + ttlMs;
        entries.set(key, {
          entity,
          attribute,
          value,
          validFrom: kept?.validFrom ?? now,
          validTo: null,
          expiresAt,
        });
        while (entries.size > capacity) entries.delete(entries.keys().next().value!);
        return { superseded, expiresAt };
      }),
    get: (entity, attribute, asOf) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        dropExpired(now);
        const at = asOf ?? now;
        const p = prefix(entity, attribute);
        return [...entries.entries()]
          .filter(
            ([k, f]) => k.startsWith(p) && f.validFrom <= at && (f.expiresAt === null || f.expiresAt > at),
          )
          .map(([, f]) => f);
      }),
    forget: (entity, attribute) =>
      Effect.sync(() => {
        let n = 0;
        for (const k of [...entries.keys()]) {
          if (k.startsWith(prefix(entity, attribute))) {
            entries.delete(k);
            n++;
          }
        }
        return n;
      }),
    size: () => entries.size,
  };
};
