/**
 * Plugins: the only way model providers, guardrails, tripwires, tools and micro-agent handlers
 * reach agents. A plugin is a small value; its `setup` is a scoped Effect, so whatever it acquires
 * (a child process, a socket, a pool) is released when the scope that loaded it closes: the
 * runtime's for runtime plugins, the tree's for plugins a tree adds.
 */
import type { Effect, Scope } from "effect";
import type { PluginError, Problem } from "./errors.ts";
import type { EventBus } from "./events.ts";
import type { Guardrail } from "./guardrail.ts";
import type { ModelProvider, ModelRouter, ProviderLookup } from "./model.ts";
import type { ToolDefinition } from "./tool.ts";
import type { TripwireAction } from "./tripwire.ts";

/** A pure micro-agent handler: `(state, message) → [state, reply]`. Runs synchronously on the hot path. */
export interface MicroHandler<S = unknown> {
  readonly initial: () => S;
  readonly handle: (state: S, message: string) => readonly [S, string];
}

/** A tripwire contribution: a metric it watches and a default threshold and action. */
export interface TripwireDefinition {
  readonly name: string;
  readonly metric: string;
  readonly threshold: number;
  readonly action: TripwireAction;
}

/**
 * A section of the tree spec owned by a plugin (`guardrails`, `tripwires`, `tools`, …): the plugin
 * validates it and says how a lower level combines with a higher one. `merge` must only add or
 * tighten; when the child tries to loosen it returns problems instead.
 */
export interface SpecSection {
  readonly key: string;
  readonly validate: (value: unknown, path: string) => ReadonlyArray<Problem>;
  readonly merge: (
    inherited: unknown,
    own: unknown,
    path: string,
  ) => { readonly value: unknown } | { readonly problems: ReadonlyArray<Problem> };
}

/** What a plugin's setup may register. Registrations made in a scope are removed when it closes. */
export interface PluginHost {
  readonly registerProvider: (provider: ModelProvider) => Effect.Effect<void, PluginError, Scope.Scope>;
  readonly registerTool: (tool: ToolDefinition) => Effect.Effect<void, PluginError, Scope.Scope>;
  readonly registerGuardrail: (guardrail: Guardrail) => Effect.Effect<void, PluginError, Scope.Scope>;
  readonly registerTripwire: (tripwire: TripwireDefinition) => Effect.Effect<void, PluginError, Scope.Scope>;
  readonly registerHandler: (
    name: string,
    handler: MicroHandler,
  ) => Effect.Effect<void, PluginError, Scope.Scope>;
  /** Replaces the model router (the economic router does this); the previous one comes back when the scope closes. */
  readonly installModelRouter: (
    make: (providers: ProviderLookup) => ModelRouter,
  ) => Effect.Effect<void, PluginError, Scope.Scope>;
  readonly providers: ProviderLookup;
  readonly events: EventBus;
  /** The runtime configuration file's contents (`arbor.config.json`), unvalidated: validate your own section. */
  readonly config: Readonly<Record<string, unknown>>;
}

/** A plugin value. Use `definePlugin` to make one. */
export interface Plugin {
  readonly name: string;
  readonly version: string;
  /** Names of plugins that must load first. */
  readonly requires?: ReadonlyArray<string>;
  readonly setup: (host: PluginHost) => Effect.Effect<void, PluginError, Scope.Scope>;
}

/** Defines a plugin. Plain identity, for type inference and discoverability. */
export const definePlugin = (plugin: Plugin): Plugin => plugin;
