/**
 * Plugins: the only way model providers, guardrails, tripwires, tools and micro-agent handlers
 * reach agents. A plugin is a small value; its `setup` is a scoped Effect, so whatever it acquires
 * (a child process, a socket, a pool) is released when the scope that loaded it closes: the
 * runtime's for runtime plugins, the tree's for plugins a tree adds.
 */
import type { Effect, Either, Scope } from "effect";
import type { PluginError, Problem } from "./errors.ts";
import type { EventBus } from "./events.ts";
import type { Guardrail, GuardrailRunner } from "./guardrail.ts";
import type { ModelProvider, ModelRouter, ProviderLookup } from "./model.ts";
import type { RecallRunner } from "./recall.ts";
import type { ToolDefinition, ToolRunner } from "./tool.ts";
import type { TripwireAction, TripwireMonitor } from "./tripwire.ts";

/**
 * A pure micro-agent handler: `(state, message) → [state, reply]`, optionally `[state, reply, { exit }]`
 * to exit normally after replying. Runs synchronously on the hot path; throwing is an abnormal exit
 * (the supervisor decides).
 */
export interface MicroHandler<S = unknown> {
  readonly initial: () => S;
  readonly handle: (
    state: S,
    message: string,
  ) => readonly [S, string] | readonly [S, string, { readonly exit: string }];
  /**
   * In a durable tree the handler's state is kept after its messages and given back when the tree
   * comes back after a restart of the runtime. A state that is JSON data needs nothing; for one
   * that is not (a Map, a class instance) `save` makes JSON data of it and `load` the state back.
   */
  readonly save?: (state: S) => unknown;
  readonly load?: (saved: unknown) => S;
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

/**
 * A plugin's say over whole tree specs, for what spans more than one agent: `expand` fills in what
 * the plugin owns before the spec is validated (a role's prompt and model settings), `check` validates
 * a tree-level section against the compiled tree (a workflow's steps name agents that exist).
 * Problems are located by JSON path like every spec problem.
 */
export interface SpecExtension {
  readonly name: string;
  /** Tree-level keys this extension owns (`workflow`); a spec that uses one it does not own is refused. */
  readonly treeKeys?: ReadonlyArray<string>;
  /** `sections`: the agent-level spec sections some loaded plugin handles (`tools`, `guardrails`, …). */
  readonly expand?: (
    spec: Readonly<Record<string, unknown>>,
    context: { readonly sections: ReadonlySet<string> },
  ) => Either.Either<Record<string, unknown>, ReadonlyArray<Problem>>;
  /** `agents`: every agent's path below the root (`""` for the root, `researcher`, `lead/critic`). */
  readonly check?: (
    spec: Readonly<Record<string, unknown>>,
    agents: ReadonlySet<string>,
  ) => ReadonlyArray<Problem>;
}

/** Read access to registered contributions of one kind (the current level, then the levels above). */
export interface ContributionLookup<T> {
  readonly get: (name: string) => T | undefined;
  readonly names: () => ReadonlyArray<string>;
  readonly all: () => ReadonlyArray<T>;
}

/** What a plugin's setup may register. Registrations made in a scope are removed when it closes. */
export interface PluginHost {
  readonly registerProvider: (provider: ModelProvider) => Effect.Effect<void, PluginError, Scope.Scope>;
  readonly registerTool: (tool: ToolDefinition) => Effect.Effect<void, PluginError, Scope.Scope>;
  readonly registerGuardrail: (guardrail: Guardrail) => Effect.Effect<void, PluginError, Scope.Scope>;
  readonly registerTripwire: (tripwire: TripwireDefinition) => Effect.Effect<void, PluginError, Scope.Scope>;
  readonly registerSpecSection: (section: SpecSection) => Effect.Effect<void, PluginError, Scope.Scope>;
  readonly registerSpecExtension: (extension: SpecExtension) => Effect.Effect<void, PluginError, Scope.Scope>;
  readonly registerHandler: <S>(
    name: string,
    handler: MicroHandler<S>,
  ) => Effect.Effect<void, PluginError, Scope.Scope>;
  /** Replaces the model router (the economic router does this); the previous one comes back when the scope closes. */
  readonly installModelRouter: (
    make: (providers: ProviderLookup) => ModelRouter,
  ) => Effect.Effect<void, PluginError, Scope.Scope>;
  /** Replaces how tool calls are run (the tool registry plugin does this). */
  readonly installToolRunner: (
    make: (tools: ContributionLookup<ToolDefinition>, guardrails: GuardrailRunner) => ToolRunner,
  ) => Effect.Effect<void, PluginError, Scope.Scope>;
  /** Replaces how guardrails are evaluated (the guardrails plugin does this). */
  readonly installGuardrailRunner: (
    make: (guardrails: ContributionLookup<Guardrail>) => GuardrailRunner,
  ) => Effect.Effect<void, PluginError, Scope.Scope>;
  /** Replaces how tripwires are watched (the tripwires plugin does this). */
  readonly installTripwireMonitor: (
    make: (tripwires: ContributionLookup<TripwireDefinition>) => TripwireMonitor,
  ) => Effect.Effect<void, PluginError, Scope.Scope>;
  /** Installs how agents recall memory before a step (the memory plugin does this). */
  readonly installRecall: (make: () => RecallRunner) => Effect.Effect<void, PluginError, Scope.Scope>;
  readonly providers: ProviderLookup;
  readonly tools: ContributionLookup<ToolDefinition>;
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
