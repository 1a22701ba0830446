/**
 * Provider plugins: eight model adapters (OpenAI, Anthropic, Google, OpenRouter, DeepSeek, Groq,
 * Cerebras, Ollama), key pools with rotation, the economic router, the usage ledger and OTEL spans.
 *
 * Load `providersPlugin()` in the runtime; it reads the `providers`, `profiles`, `budgets`, `cache`
 * and `routing` sections of `arbor.config.json` and the `<P>_API_KEY…` environment variables.
 */
export { CATALOG, PROVIDER_NAMES, type ProviderName } from "./catalog.ts";
export {
  type BudgetLimit,
  type Candidate,
  type Env,
  keysFromEnv,
  loadProvidersConfig,
  type ProvidersConfig,
  type ResolvedProvider,
  type RoutingSettings,
} from "./config.ts";
export { fingerprint, ProviderConfigError } from "./errors.ts";
export { makeProviderHub, type ProviderHub, type RoutingState } from "./hub.ts";
export {
  groupUsage,
  layerMemoryLedger,
  makeMemoryLedger,
  sumUsage,
  type UsageFilter,
  type UsageGroup,
  type UsageGroupBy,
  type UsageLedger,
  UsageLedgerService,
  type UsageRecord,
  type UsageTotals,
} from "./ledger.ts";
export { type ProvidersPlugin, type ProvidersPluginOptions, providersPlugin } from "./plugin.ts";
export { DEFAULT_PROFILES } from "./profiles.ts";
export { makeEconomicRouter, planCandidates } from "./router.ts";
export {
  formatProviderStatus,
  type ProviderStatusEntry,
  type ProvidersStatus,
  providersStatus,
  providersStatusFromConfig,
} from "./status.ts";
