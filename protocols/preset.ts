/**
 * The plugins Arbor runs with by default: everything works offline, with no key and no server.
 * `arbor run`, `arbor serve` and `createArbor()` use this list.
 */
import { builtinHandlersPlugin } from "../plugins/handlers/builtin.ts";
import { scriptedPlugin } from "../plugins/providers/scripted.ts";
import type { Plugin } from "../runtime/plugin.ts";

/** The default plugin set for a configuration (sections are validated by each plugin). */
export const defaultPlugins = (_config: Readonly<Record<string, unknown>>): ReadonlyArray<Plugin> => [
  scriptedPlugin,
  builtinHandlersPlugin,
];
