/**
 * `rolesPlugin`: the role catalog as a spec extension. Loads the built-in roles and, when the config
 * says `agents.rolesDir`, the user's roles folder (relative to the working directory), and fills each
 * agent's prompt and model settings from its role before the spec is validated.
 */
import { join, resolve } from "node:path";
import { Effect } from "effect";
import { PluginError } from "../../runtime/errors.ts";
import { packageRoot } from "../../runtime/package-root.ts";
import { definePlugin, type Plugin } from "../../runtime/plugin.ts";
import { loadRoles } from "./catalog.ts";
import { expandRoles } from "./expand.ts";

/** The folder of the built-in roles. */
export const builtinRolesFolder = (): string => join(packageRoot(), "agents", "roles", "catalog");

const rolesDirOf = (config: Readonly<Record<string, unknown>>): string | undefined => {
  const agents = config.agents as { rolesDir?: unknown } | undefined;
  return typeof agents?.rolesDir === "string" ? resolve(agents.rolesDir) : undefined;
};

/** Makes the roles plugin; `folders` adds role folders after the built-in one and the config's. */
export const makeRolesPlugin = (options: { readonly folders?: ReadonlyArray<string> } = {}): Plugin =>
  definePlugin({
    name: "roles",
    version: "0.1.0",
    setup: (host) =>
      Effect.gen(function* () {
        const own = rolesDirOf(host.config);
        const { roles, problems } = loadRoles([
          builtinRolesFolder(),
          ...(own ? [own] : []),
          ...(options.folders ?? []),
        ]);
        if (problems.length > 0)
          return yield* new PluginError({
            reason: "setup_failed",
            plugin: "roles",
            detail: problems.map((p) => `${p.folder}: ${p.message}`).join("; "),
          });
        yield* host.registerSpecExtension({
          name: "roles",
          expand: (spec, { sections }) => expandRoles(spec, roles, sections.has("tools")),
        });
      }),
  });

/** The roles plugin with the built-in roles and the config's `agents.rolesDir`. */
export const rolesPlugin: Plugin = makeRolesPlugin();
