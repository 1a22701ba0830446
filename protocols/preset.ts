/**
 * The plugins Arbor runs with by default: everything works offline, with no key and no server.
 * `arbor run`, `arbor serve` and `createArbor()` use this list. Network providers become available
 * when their keys are set; MCP servers when `mcp.servers` is configured; file tools when
 * `tools.root` is.
 */
import { Effect } from "effect";
import { guardrailsPlugin } from "../plugins/guardrails/plugin.ts";
import { builtinHandlersPlugin } from "../plugins/handlers/builtin.ts";
import { providersPlugin } from "../plugins/providers/plugin.ts";
import { scriptedPlugin } from "../plugins/providers/scripted.ts";
import { mcpPlugin } from "../plugins/tools/mcp/plugin.ts";
import { toolsPlugin } from "../plugins/tools/plugin.ts";
import { tripwiresPlugin } from "../plugins/tripwires/plugin.ts";
import { loadConfig } from "../runtime/config.ts";
import type { Plugin } from "../runtime/plugin.ts";

export interface PresetOptions {
  /** The config file given with `--config`: `providers.reload` re-reads it. */
  readonly configFile?: string;
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
  }),
  guardrailsPlugin,
  tripwiresPlugin,
  toolsPlugin,
  mcpPlugin,
];
