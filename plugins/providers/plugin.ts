/**
 * The providers plugin: registers the eight built-in providers (each rotating its keys) and
 * installs the economic router. The plugin value also carries the operator's handles: `status`,
 * `reload` and the usage `ledger`.
 */
import { Effect, Either } from "effect";
import { PluginError } from "../../runtime/errors.ts";
import type { KeyStateStore } from "../../runtime/key-state.ts";
import type { ModelProvider, ModelRouter } from "../../runtime/model.ts";
import { definePlugin, type Plugin } from "../../runtime/plugin.ts";
import { CATALOG, PROVIDER_ALIASES, PROVIDER_NAMES } from "./catalog.ts";
import type { Env } from "./config.ts";
import { ProviderConfigError } from "./errors.ts";
import { makeProviderHub, type ProviderHub } from "./hub.ts";
import { makeMemoryLedger, type UsageLedger } from "./ledger.ts";
import { settleOnAgentEvents } from "./response-cache.ts";
import { makeEconomicRouter } from "./router.ts";
import { type ProvidersStatus, providersStatus } from "./status.ts";

/** Options of the providers plugin. */
export interface ProvidersPluginOptions {
  /** The environment to read keys from; `process.env` when omitted (read at setup and at each reload). */
  readonly env?: Env;
  /** Where calls are recorded; an in-memory ledger when omitted. */
  readonly ledger?: UsageLedger;
  /**
   * Where key cooldowns, counters and rpm/tpm windows are kept across restarts (read at setup,
   * written after each call); in memory only when omitted.
   */
  readonly keyStore?: KeyStateStore;
  /**
   * How `reload()` without an argument re-reads the runtime config, e.g.
   * `() => Effect.map(loadConfig(path), (c) => c.config)`. Its failure is reported as a config error.
   */
  readonly readConfig?: () => Effect.Effect<Readonly<Record<string, unknown>>, Error>;
  /**
   * Ratings by `provider/model` (higher is better), read at each call: with `routing.arenaBias` the
   * router orders a profile's candidates by them. `arbor serve` passes the arena's standings.
   */
  readonly standing?: () => ReadonlyMap<string, number>;
}

/** The plugin value plus its operator handles. */
export interface ProvidersPlugin extends Plugin {
  /** Status of providers and keys; fails when the plugin is not loaded. */
  readonly status: () => Effect.Effect<ProvidersStatus, PluginError>;
  /**
   * Re-reads configuration (`config`, else `readConfig`, else the config the plugin was loaded with)
   * and the environment, and swaps keys, profiles and providers. Calls in flight finish on the old
   * configuration. On an invalid configuration the old one stays in force.
   */
  readonly reload: (
    config?: Readonly<Record<string, unknown>>,
  ) => Effect.Effect<ProvidersStatus, PluginError | ProviderConfigError>;
  readonly ledger: UsageLedger;
  /** The live hub, for the bench and advanced embedding; undefined until setup. */
  readonly hub: () => ProviderHub | undefined;
}

/** A provider as the host sees it: every call goes through the router, so keys rotate. */
const hostedProvider = (
  name: string,
  router: ModelRouter,
  embeddings: boolean,
  as: string = name,
): ModelProvider => ({
  name: as,
  generate: ({ model, options, ...request }) =>
    router.generate({ provider: name, model, ...(options ? { options } : {}) }, request),
  stream: ({ model, options, ...request }) =>
    router.stream({ provider: name, model, ...(options ? { options } : {}) }, request),
  ...(embeddings
    ? {
        embed: (request) =>
          router.embed({ provider: name, ...(request.model ? { model: request.model } : {}) }, request),
      }
    : {}),
});

/** Makes the providers plugin. */
export const providersPlugin = (options: ProvidersPluginOptions = {}): ProvidersPlugin => {
  const ledger = options.ledger ?? makeMemoryLedger();
  const env = () => options.env ?? process.env;
  let hub: ProviderHub | undefined;
  let loadedConfig: Readonly<Record<string, unknown>> = {};
  const notLoaded = () =>
    new PluginError({
      reason: "setup_failed",
      plugin: "providers",
      detail: "the providers plugin is not loaded",
    });

  const plugin = definePlugin({
    name: "providers",
    version: "0.1.0",
    setup: (host) =>
      Effect.gen(function* () {
        const made = makeProviderHub({
          config: host.config,
          env: env(),
          ledger,
          events: host.events,
          ...(options.keyStore ? { keyStore: options.keyStore } : {}),
        });
        if (Either.isLeft(made))
          return yield* new PluginError({
            reason: "setup_failed",
            plugin: "providers",
            detail: made.left.message,
          });
        const live = made.right;
        if (options.keyStore) live.restoreKeys(yield* options.keyStore.load);
        const routerOptions = options.standing ? { standing: options.standing } : {};
        const hosted = makeEconomicRouter(live, routerOptions)(host.providers);
        for (const name of PROVIDER_NAMES)
          yield* host.registerProvider(hostedProvider(name, hosted, CATALOG[name].embeddings));
        for (const [alias, name] of Object.entries(PROVIDER_ALIASES))
          yield* host.registerProvider(hostedProvider(name, hosted, CATALOG[name].embeddings, alias));
        // Custom providers are registered by name so specs may name them. Gotcha: one added by a
        // later reload is routed, but specs can name it only after a restart.
        for (const name of Object.keys(live.state().config.custom))
          yield* host.registerProvider(hostedProvider(name, hosted, false));
        yield* host.installModelRouter(makeEconomicRouter(live, routerOptions));
        hub = live;
        loadedConfig = host.config;
        const unlisten = settleOnAgentEvents(host.events, () => live.state().cache);
        yield* Effect.addFinalizer(() => Effect.sync(unlisten));
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            if (hub === live) hub = undefined;
          }),
        );
      }),
  });

  return {
    ...plugin,
    ledger,
    hub: () => hub,
    status: () => (hub ? providersStatus(hub) : Effect.fail(notLoaded())),
    reload: (config) =>
      Effect.gen(function* () {
        const live = hub;
        if (!live) return yield* notLoaded();
        const raw =
          config ??
          (options.readConfig
            ? yield* Effect.mapError(
                options.readConfig(),
                (error) =>
                  new ProviderConfigError({
                    reason: "invalid_config",
                    problems: [{ path: "$", message: error.message }],
                  }),
              )
            : loadedConfig);
        const next = live.reload(raw, env());
        if (Either.isLeft(next)) return yield* next.left;
        loadedConfig = raw;
        return yield* providersStatus(live);
      }),
  };
};
