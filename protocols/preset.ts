/**
 * The plugins Arbor runs with by default: everything works offline, with no key and no server.
 * `arbor run`, `arbor serve` and `createArbor()` use this list. Network providers become available
 * when their keys are set; MCP servers when `mcp.servers` is configured; file tools when
 * `tools.root` is.
 */

import { Effect } from "effect";
import { rolesPlugin } from "../agents/roles/plugin.ts";
import { workflowsPlugin } from "../agents/workflow/plugin.ts";
import { guardrailsPlugin } from "../plugins/guardrails/plugin.ts";
import { builtinHandlersPlugin } from "../plugins/handlers/builtin.ts";
import { providersPlugin } from "../plugins/providers/plugin.ts";
import { scriptedPlugin } from "../plugins/providers/scripted.ts";
import { mcpPlugin } from "../plugins/tools/mcp/plugin.ts";
import { toolsPlugin } from "../plugins/tools/plugin.ts";
import { tripwiresPlugin } from "../plugins/tripwires/plugin.ts";
import { loadConfig } from "../runtime/config.ts";
import type { KeyStateStore } from "../runtime/key-state.ts";
import type { Plugin } from "../runtime/plugin.ts";
import type { UsageLedger } from "../runtime/usage-ledger.ts";
import { findProvidersPlugin } from "./ws/extra/providers.ts";

export interface PresetOptions {
  /** The config file given with `--config`: `providers.reload` re-reads it. */
  readonly configFile?: string;
  /** Where provider calls are recorded (the SQL ledger when memory is open); in memory otherwise. */
  readonly ledger?: UsageLedger;
  /** Where key cooldowns and counters are kept across restarts; in memory otherwise. */
  readonly keyStore?: KeyStateStore;
  /** Ratings by model from the arena, for `routing.arenaBias`. */
  readonly standing?: () => ReadonlyMap<string, number>;
}

/** The default plugin set for a configuration (sections are validated by each plugin). */
export const defaultPlugins = (
  _config: Readonly<Record<string, unknown>>,
  options: PresetOptions = {},
): ReadonlyArray<Plugin> => [
  scriptedPlugin,
  builtinHandlersPlugin,
  providersPlugin({
    readConfig: () => Effect.map(loadConfig(options.configFile), (loaded) => loaded.config),
    ...(options.ledger ? { ledger: options.ledger } : {}),
    ...(options.keyStore ? { keyStore: options.keyStore } : {}),
    ...(options.standing ? { standing: options.standing } : {}),
  }),
  guardrailsPlugin,
  tripwiresPlugin,
  toolsPlugin,
  mcpPlugin,
  workflowsPlugin,
  rolesPlugin,
];

/**
 * One line for people: which model providers can really be used now (the offline scripted one,
 * plus each network provider whose key or base URL is set), and which config file is in force.
 */
export const describeModels = (
  plugins: ReadonlyArray<Plugin>,
  file: string | undefined,
): Effect.Effect<string> =>
  Effect.gen(function* () {
    const providers = findProvidersPlugin(plugins);
    const status = providers ? yield* Effect.option(providers.status()) : undefined;
    const configured =
      status && status._tag === "Some"
        ? status.value.providers.filter((p) => p.configured).map((p) => p.name)
        : [];
    const models =
      configured.length > 0
        ? `scripted (offline) + ${configured.join(", ")}`
        : "scripted (offline; set e.g. OPENAI_API_KEY for a network model)";
    return `providers: ${models}; config: ${file ?? "none (embedded defaults)"}`;
  });
