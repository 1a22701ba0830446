/**
 * The provider hub: the live routing state (drivers, key pools, profiles, settings) plus what
 * outlives a reload (circuit breakers, budgets spent, the ledger). `reload` builds a new state and
 * swaps it in one assignment; calls in flight keep the state they started with, so nothing is
 * dropped, and keys still configured keep their cooldowns and counters.
 */
import { Either } from "effect";
import type { EventBus } from "../../runtime/events.ts";
import type { KeyStateStore, PersistedKeyState } from "../../runtime/key-state.ts";
import { type BudgetBook, makeBudgetBook } from "./budget.ts";
import { makeDriver, makeOpenAICompatibleDriver, PROVIDER_NAMES } from "./catalog.ts";
import { type CircuitBreaker, makeCircuitBreaker } from "./circuit-breaker.ts";
import { type Env, loadProvidersConfig, type ProvidersConfig, type ResolvedProvider } from "./config.ts";
import type { ProviderDriver } from "./driver.ts";
import type { ProviderConfigError } from "./errors.ts";
import { type KeyPool, makeKeyPool } from "./key-pool.ts";
import type { UsageLedger } from "./ledger.ts";
import { makeResponseCache, type ResponseCache } from "./response-cache.ts";

/** One consistent view of the configuration, taken by a call when it starts. */
export interface RoutingState {
  readonly config: ProvidersConfig;
  /** Drivers and key pools of the configured providers, built-in and custom, by name. */
  readonly drivers: ReadonlyMap<string, ProviderDriver>;
  readonly pools: ReadonlyMap<string, KeyPool>;
  readonly cache?: ResponseCache;
  /** Every configured key, for scrubbing messages. */
  readonly secrets: ReadonlyArray<string>;
}

/** The hub. */
export interface ProviderHub {
  readonly state: () => RoutingState;
  /** Re-reads configuration and environment; on error the old state stays in force. */
  readonly reload: (
    raw: Readonly<Record<string, unknown>>,
    env: Env,
  ) => Either.Either<RoutingState, ProviderConfigError>;
  readonly breaker: (provider: string, model: string) => CircuitBreaker;
  readonly breakers: () => ReadonlyArray<{
    readonly provider: string;
    readonly model: string;
    readonly breaker: CircuitBreaker;
  }>;
  readonly budgets: BudgetBook;
  readonly ledger: UsageLedger;
  readonly events: EventBus;
  /** Where key cooldowns and counters are kept across restarts, if anywhere. */
  readonly keyStore?: KeyStateStore;
  /** Takes back what the key store remembered (at startup). */
  readonly restoreKeys: (saved: ReadonlyArray<PersistedKeyState>) => void;
}

const buildState = (config: ProvidersConfig, previous: RoutingState | undefined): RoutingState => {
  const drivers = new Map<string, ProviderDriver>();
  const pools = new Map<string, KeyPool>();
  const add = (
    resolved: ResolvedProvider,
    before: ResolvedProvider | undefined,
    make: () => ProviderDriver,
  ) => {
    const name = resolved.name;
    if (!resolved.configured) return;
    const sameEndpoint =
      before?.configured && JSON.stringify(before.endpoint) === JSON.stringify(resolved.endpoint);
    const oldDriver = previous?.drivers.get(name);
    drivers.set(name, sameEndpoint && oldDriver ? oldDriver : make());
    pools.set(
      name,
      makeKeyPool(
        name,
        resolved.keys,
        { baseMs: config.routing.cooldownBaseMs, maxMs: config.routing.cooldownMaxMs },
        previous?.pools.get(name),
        resolved.limits,
      ),
    );
  };
  for (const name of PROVIDER_NAMES) {
    const resolved = config.providers[name];
    add(resolved, previous?.config.providers[name], () => makeDriver(name, resolved.endpoint));
  }
  for (const [name, resolved] of Object.entries(config.custom)) {
    const before = previous?.config.custom[name];
    add(resolved, before?.kind === resolved.kind ? before : undefined, () =>
      makeOpenAICompatibleDriver(name, resolved.endpoint),
    );
  }
  const sameCache =
    previous?.cache && JSON.stringify(previous.config.cache) === JSON.stringify(config.cache)
      ? previous.cache
      : undefined;
  const cache = config.cache.enabled ? (sameCache ?? makeResponseCache(config.cache)) : undefined;
  return {
    config,
    drivers,
    pools,
    ...(cache ? { cache } : {}),
    secrets: [
      ...PROVIDER_NAMES.flatMap((n) => config.providers[n].keys),
      ...Object.values(config.custom).flatMap((c) => c.keys),
    ],
  };
};

/** Makes a hub from the runtime config and environment; fails on invalid configuration. */
export const makeProviderHub = (options: {
  readonly config: Readonly<Record<string, unknown>>;
  readonly env: Env;
  readonly ledger: UsageLedger;
  readonly events: EventBus;
  readonly keyStore?: KeyStateStore;
}): Either.Either<ProviderHub, ProviderConfigError> =>
  Either.map(loadProvidersConfig(options.config, options.env), (config) => {
    let current = buildState(config, undefined);
    const breakers = new Map<string, { provider: string; model: string; breaker: CircuitBreaker }>();
    return {
      state: () => current,
      reload: (raw, env) =>
        Either.map(loadProvidersConfig(raw, env), (next) => {
          current = buildState(next, current);
          return current;
        }),
      breaker: (provider, model) => {
        const id = `${provider}\u0000${model}`;
        let found = breakers.get(id);
        if (!found) {
          found = {
            provider,
            model,
            // Thresholds are read from the current state, so a reload applies to existing breakers.
            breaker: makeCircuitBreaker(() => {
              const r = current.config.routing;
              return {
                failureThreshold: r.circuitFailureThreshold,
                coolOffMs: r.circuitCoolOffMs,
                successThreshold: r.circuitSuccessThreshold,
              };
            }),
          };
          breakers.set(id, found);
        }
        return found.breaker;
      },
      breakers: () => [...breakers.values()],
      budgets: makeBudgetBook(options.ledger),
      ledger: options.ledger,
      events: options.events,
      ...(options.keyStore ? { keyStore: options.keyStore } : {}),
      restoreKeys: (saved) => {
        for (const pool of current.pools.values()) pool.restore(saved);
      },
    };
  });
