/**
 * A Postgres/PGlite-backed implementation of the providers' key-state port
 * (`KeyStateStoreService`, runtime/key-state.ts): one row per provider key in
 * `arbor_provider_keys`, upserted after every call, read back at startup.
 *
 * Gotcha: the port has no error channel. A failed write is counted (`failures()`) and dropped
 * rather than failing the provider call it follows; a failed read at startup is a defect.
 */
import { Effect, Layer } from "effect";
import { type KeyStateStore, KeyStateStoreService, type PersistedKeyState } from "../runtime/key-state.ts";
import type { KnowledgeConfigError, StoreError } from "./errors.ts";
import { migrate } from "./migrations.ts";
import { SqlClient } from "./sql-client.ts";

interface KeyRow {
  readonly provider: string;
  readonly fingerprint: string;
  readonly cooling_until: number;
  readonly streak: number;
  readonly requests: number | string;
  readonly tokens: number | string;
  readonly failures: number | string;
  readonly cooldowns: number | string;
  readonly recent: ReadonlyArray<readonly [number, number]> | string;
}

/** The SQL key-state store, plus how many writes failed. */
export const makeSqlKeyStateStore: Effect.Effect<
  KeyStateStore & { readonly failures: () => number },
  StoreError | KnowledgeConfigError,
  SqlClient
> = Effect.gen(function* () {
  const sql = yield* SqlClient;
  yield* migrate({});
  let failures = 0;
  return {
    load: sql.query<KeyRow>("SELECT * FROM arbor_provider_keys ORDER BY provider, fingerprint").pipe(
      Effect.map((rows) =>
        rows.map(
          (r): PersistedKeyState => ({
            provider: r.provider,
            fingerprint: r.fingerprint,
            coolingUntil: Number(r.cooling_until),
            streak: r.streak,
            requests: Number(r.requests),
            tokens: Number(r.tokens),
            failures: Number(r.failures),
            cooldowns: Number(r.cooldowns),
            recent: typeof r.recent === "string" ? JSON.parse(r.recent) : r.recent,
          }),
        ),
      ),
      Effect.orDie,
    ),
    save: (k) =>
      sql
        .query(
          `INSERT INTO arbor_provider_keys
             (provider, fingerprint, cooling_until, streak, requests, tokens, failures, cooldowns, recent)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (provider, fingerprint) DO UPDATE SET
             cooling_until = EXCLUDED.cooling_until, streak = EXCLUDED.streak,
             requests = EXCLUDED.requests, tokens = EXCLUDED.tokens, failures = EXCLUDED.failures,
             cooldowns = EXCLUDED.cooldowns, recent = EXCLUDED.recent`,
          [
            k.provider,
            k.fingerprint,
            k.coolingUntil,
            k.streak,
            k.requests,
            k.tokens,
            k.failures,
            k.cooldowns,
            JSON.stringify(k.recent),
          ],
        )
        .pipe(
          Effect.asVoid,
          Effect.catchAll(() =>
            Effect.sync(() => {
              failures++;
            }),
          ),
        ),
    failures: () => failures,
  };
});

/** The SQL key-state store under the providers' `KeyStateStoreService` tag. */
export const layerSqlKeyStateStore: Layer.Layer<
  KeyStateStoreService,
  StoreError | KnowledgeConfigError,
  SqlClient
> = Layer.effect(KeyStateStoreService, makeSqlKeyStateStore);
