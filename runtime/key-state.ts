/**
 * The key-state port: what the providers' key pools remember of each key (cooldown, backoff
 * streak, counters, the last minute's requests for `rpm`/`tpm`), so a restart does not forget that
 * a key is cooling or at its limit. The providers plugin keeps it in memory unless given a store;
 * the knowledge area persists it in Postgres/PGlite (`arbor_provider_keys`).
 *
 * Gotcha: keys are identified by provider and fingerprint; a secret never reaches the store.
 */
import { Context, type Effect } from "effect";

/** One key's remembered state. `recent` holds `[sentAtMs, estimatedTokens]` of the last minute. */
export interface PersistedKeyState {
  readonly provider: string;
  readonly fingerprint: string;
  readonly coolingUntil: number;
  readonly streak: number;
  readonly requests: number;
  readonly tokens: number;
  readonly failures: number;
  readonly cooldowns: number;
  readonly recent: ReadonlyArray<readonly [number, number]>;
}

/** The store. `save` never fails the call it records (a failed write is the store's to count). */
export interface KeyStateStore {
  readonly load: Effect.Effect<ReadonlyArray<PersistedKeyState>>;
  readonly save: (state: PersistedKeyState) => Effect.Effect<void>;
}

/** The store as an Effect service. */
export class KeyStateStoreService extends Context.Tag("arbor/KeyStateStore")<
  KeyStateStoreService,
  KeyStateStore
>() {}
