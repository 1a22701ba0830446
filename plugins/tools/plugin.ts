/**
 * The tool registry plugin: registers the built-in tools (`spawn_agent`, `send_to_agent`,
 * `handoff`, `read_file`, `write_file`, `list_dir`), owns the `tools` spec section, and installs
 * the runner the agent step calls. The runtime config's `tools` section, when present, is the
 * level above every tree (its `root` is where the file tools may work).
 */

import { resolve } from "node:path";
import { Effect, Either } from "effect";
import { PluginError } from "../../runtime/errors.ts";
import { definePlugin, type Plugin } from "../../runtime/plugin.ts";
import { agentTools } from "./builtin/agents.ts";
import { fileTools } from "./builtin/files.ts";
import { systemTools } from "./builtin/system.ts";
import { systemRepairTools } from "./builtin/system-repair.ts";
import { makeToolRunner } from "./runner.ts";
import { defaultToolSettings, makeToolsSection, readToolConfig } from "./settings.ts";

/** Options of the tools plugin. */
export interface ToolsPluginOptions {
  /** Root of the file tools (else `config.tools.root`); without one the file tools are not registered. */
  readonly root?: string;
  /**
   * Register `spawn_agent`, `send_to_agent` and `handoff` (default true). Gotcha: with them, every
   * parent and child has tools to offer its model, so a runtime that delegates only to agents
   * without tools stops delegating; `tools.allow` in a spec hides them per agent.
   */
  readonly agentTools?: boolean;
  /** Timeout for tools that set none. Default 30 s. */
  readonly defaultTimeoutMs?: number;
}

/**
 * Makes the tools plugin. Gotcha: the file tools and the host's health signals (`system.*`) exist
 * only when a root is configured (here or in
 * `config.tools.root`): the operator grants file access; a spec's `tools.root` can only narrow it.
 */
export const makeToolsPlugin = (options: ToolsPluginOptions = {}): Plugin =>
  definePlugin({
    name: "tools",
    version: "0.1.0",
    setup: (host) =>
      Effect.gen(function* () {
        const configured = readToolConfig(host.config.tools);
        if (Either.isLeft(configured))
          return yield* new PluginError({
            reason: "setup_failed",
            plugin: "tools",
            detail: configured.left.map((p) => `${p.path}: ${p.message}`).join("; "),
          });
        const root = options.root === undefined ? configured.right?.root : resolve(options.root);
        const base =
          configured.right === undefined && root === undefined
            ? undefined
            : { ...(configured.right ?? defaultToolSettings), root };
        yield* host.registerSpecSection(makeToolsSection(base));
        const builtins = [
          ...(options.agentTools === false ? [] : agentTools(host.events)),
          ...(root === undefined
            ? []
            : [...fileTools(root), ...systemTools(root), ...systemRepairTools(root)]),
        ];
        for (const tool of builtins) yield* host.registerTool(tool);
        yield* host.installToolRunner((tools, guardrails) =>
          makeToolRunner({
            tools: tools.all,
            events: host.events,
            guardrails,
            ...(base === undefined ? {} : { base }),
            ...(options.defaultTimeoutMs === undefined ? {} : { defaultTimeoutMs: options.defaultTimeoutMs }),
          }),
        );
      }),
  });

/** The tools plugin with its defaults (file root from `config.tools.root`). */
export const toolsPlugin: Plugin = makeToolsPlugin();
