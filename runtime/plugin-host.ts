/**
 * The plugin host: registries for everything plugins contribute, layered runtime → tree (a tree's
 * plugins add to what the runtime has, and are unloaded with the tree), plus dependency-ordered
 * loading with reverse-order teardown through Effect scopes.
 */

import { Effect, ExecutionStrategy, Exit, Scope } from "effect";
import { PluginError } from "./errors.ts";
import type { EventBus } from "./events.ts";
import type { Guardrail, GuardrailRunner } from "./guardrail.ts";
import type { ModelProvider, ModelRouter, ProviderLookup } from "./model.ts";
import type {
  MicroHandler,
  Plugin,
  PluginHost,
  SpecExtension,
  SpecSection,
  TripwireDefinition,
} from "./plugin.ts";
import type { RecallRunner } from "./recall.ts";
import type { ToolDefinition, ToolRunner } from "./tool.ts";
import type { TripwireMonitor } from "./tripwire.ts";

/** Read access to one kind of contribution, this level first, then the levels above. */
export interface Lookup<T> {
  readonly get: (name: string) => T | undefined;
  readonly names: () => ReadonlyArray<string>;
  readonly all: () => ReadonlyArray<T>;
}

interface Kinds {
  provider: ModelProvider;
  tool: ToolDefinition;
  guardrail: Guardrail;
  tripwire: TripwireDefinition;
  handler: MicroHandler;
  section: SpecSection;
  extension: SpecExtension;
}

/** Factories for the pieces the agent step calls; the most recently installed wins. */
export interface Factories {
  router: (providers: ProviderLookup) => ModelRouter;
  toolRunner: (tools: Lookup<ToolDefinition>, guardrails: GuardrailRunner) => ToolRunner;
  guardrailRunner: (guardrails: Lookup<Guardrail>) => GuardrailRunner;
  tripwireMonitor: (tripwires: Lookup<TripwireDefinition>) => TripwireMonitor;
  recall: () => RecallRunner;
}

export class Registry {
  private readonly maps: { [K in keyof Kinds]: Map<string, Kinds[K]> } = {
    provider: new Map(),
    tool: new Map(),
    guardrail: new Map(),
    tripwire: new Map(),
    handler: new Map(),
    section: new Map(),
    extension: new Map(),
  };
  private readonly factories: { [K in keyof Factories]: Array<Factories[K]> } = {
    router: [],
    toolRunner: [],
    guardrailRunner: [],
    tripwireMonitor: [],
    recall: [],
  };
  private readonly loaded = new Set<string>();
  private ownVersion = 0;

  constructor(
    readonly parent: Registry | undefined,
    private readonly events: EventBus,
    private readonly config: Readonly<Record<string, unknown>>,
    private readonly tree = "",
  ) {}

  /** Changes whenever this level or one above changes: runners built from it are rebuilt. */
  get version(): number {
    return this.ownVersion + (this.parent?.version ?? 0);
  }

  private readonly lookups: { [K in keyof Kinds]?: Lookup<Kinds[K]> } = {};

  /** Read access to one kind; made once per kind. `all` is the same array until a registration changes. */
  lookup<K extends keyof Kinds>(kind: K): Lookup<Kinds[K]> {
    let found = this.lookups[kind] as Lookup<Kinds[K]> | undefined;
    if (found === undefined) {
      found = this.makeLookup(kind);
      this.lookups[kind] = found as (typeof this.lookups)[K];
    }
    return found;
  }

  private makeLookup<K extends keyof Kinds>(kind: K): Lookup<Kinds[K]> {
    let cached: { readonly version: number; readonly all: ReadonlyArray<Kinds[K]> } | undefined;
    return {
      get: (name) => this.maps[kind].get(name) ?? this.parent?.lookup(kind).get(name),
      names: () => [...new Set([...(this.parent?.lookup(kind).names() ?? []), ...this.maps[kind].keys()])],
      all: () => {
        const version = this.version;
        if (cached?.version === version) return cached.all;
        const own = this.maps[kind];
        const inherited = (this.parent?.lookup(kind).all() ?? []).filter(
          (item) => !own.has((item as { name?: string }).name ?? ""),
        );
        cached = { version, all: [...inherited, ...own.values()] };
        return cached.all;
      },
    };
  }

  factory<K extends keyof Factories>(kind: K): Factories[K] | undefined {
    const own = this.factories[kind];
    return own.length > 0 ? own[own.length - 1] : this.parent?.factory(kind);
  }

  isLoaded(name: string): boolean {
    return this.loaded.has(name) || (this.parent?.isLoaded(name) ?? false);
  }

  private add<K extends keyof Kinds>(kind: K, name: string, value: Kinds[K], plugin: string) {
    return Effect.gen(this, function* () {
      if (this.maps[kind].has(name)) {
        return yield* new PluginError({
          reason: "duplicate",
          plugin,
          detail: `a ${kind} named "${name}" is already registered`,
        });
      }
      this.maps[kind].set(name, value);
      this.ownVersion++;
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (this.maps[kind].get(name) === value) this.maps[kind].delete(name);
          this.ownVersion++;
        }),
      );
    });
  }

  private install<K extends keyof Factories>(kind: K, make: Factories[K]) {
    return Effect.gen(this, function* () {
      this.factories[kind].push(make);
      this.ownVersion++;
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          const list = this.factories[kind] as Array<Factories[K]>;
          const i = list.lastIndexOf(make);
          if (i >= 0) list.splice(i, 1);
          this.ownVersion++;
        }),
      );
    });
  }

  /** The host handed to one plugin's setup. */
  hostFor(plugin: string): PluginHost {
    const providers = this.lookup("provider");
    return {
      registerProvider: (p) => this.add("provider", p.name, p, plugin),
      registerTool: (t) => this.add("tool", t.name, t, plugin),
      registerGuardrail: (g) => this.add("guardrail", g.name, g, plugin),
      registerTripwire: (t) => this.add("tripwire", t.name, t, plugin),
      registerHandler: (name, h) => this.add("handler", name, h as unknown as MicroHandler, plugin),
      registerSpecSection: (s) => this.add("section", s.key, s, plugin),
      registerSpecExtension: (x) => this.add("extension", x.name, x, plugin),
      installModelRouter: (make) => this.install("router", make),
      installToolRunner: (make) => this.install("toolRunner", make),
      installGuardrailRunner: (make) => this.install("guardrailRunner", make),
      installTripwireMonitor: (make) => this.install("tripwireMonitor", make),
      installRecall: (make) => this.install("recall", make),
      providers: { get: providers.get, names: providers.names },
      tools: this.lookup("tool"),
      events: this.events,
      config: this.config,
    };
  }

  /**
   * Loads plugins in dependency order into `scope`; closing the scope unloads them in reverse.
   * Fails without loading anything when a dependency is missing, a name repeats, or `requires` loops.
   */
  load(plugins: ReadonlyArray<Plugin>, scope: Scope.Scope): Effect.Effect<void, PluginError> {
    return Effect.gen(this, function* () {
      const order = yield* orderPlugins(plugins, (name) => this.isLoaded(name));
      for (const plugin of order) {
        const pluginScope = yield* Scope.fork(scope, ExecutionStrategy.sequential);
        const exit = yield* Effect.exit(
          plugin.setup(this.hostFor(plugin.name)).pipe(
            Scope.extend(pluginScope),
            Effect.catchAllDefect((defect) =>
              Effect.fail(
                new PluginError({ reason: "setup_failed", plugin: plugin.name, detail: String(defect) }),
              ),
            ),
          ),
        );
        if (Exit.isFailure(exit)) {
          yield* Scope.close(pluginScope, exit);
          return yield* exit;
        }
        this.loaded.add(plugin.name);
        const base = { tree: this.tree, address: "/", id: "", plugin: plugin.name };
        yield* Scope.addFinalizer(
          pluginScope,
          Effect.sync(() => {
            this.loaded.delete(plugin.name);
            this.events.publishSync({ ...base, type: "plugin.unloaded" });
          }),
        );
        yield* this.events.publish({ ...base, type: "plugin.loaded", version: plugin.version });
      }
    });
  }
}

/** Topological order by `requires`, stable in the given order otherwise. */
export const orderPlugins = (
  plugins: ReadonlyArray<Plugin>,
  alreadyLoaded: (name: string) => boolean,
): Effect.Effect<ReadonlyArray<Plugin>, PluginError> =>
  Effect.suspend(() => {
    const byName = new Map<string, Plugin>();
    for (const plugin of plugins) {
      if (byName.has(plugin.name) || alreadyLoaded(plugin.name))
        return Effect.fail(
          new PluginError({ reason: "duplicate", plugin: plugin.name, detail: "loaded twice" }),
        );
      byName.set(plugin.name, plugin);
    }
    const order: Plugin[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (plugin: Plugin, chain: ReadonlyArray<string>): PluginError | undefined => {
      const mark = state.get(plugin.name);
      if (mark === "done") return undefined;
      if (mark === "visiting")
        return new PluginError({
          reason: "cycle",
          plugin: plugin.name,
          detail: `requires form a cycle: ${[...chain, plugin.name].join(" → ")}`,
        });
      state.set(plugin.name, "visiting");
      for (const dependency of plugin.requires ?? []) {
        const required = byName.get(dependency);
        if (!required) {
          if (alreadyLoaded(dependency)) continue;
          return new PluginError({
            reason: "missing_dependency",
            plugin: plugin.name,
            detail: `requires "${dependency}", which is not loaded`,
          });
        }
        const error = visit(required, [...chain, plugin.name]);
        if (error) return error;
      }
      state.set(plugin.name, "done");
      order.push(plugin);
      return undefined;
    };
    for (const plugin of plugins) {
      const error = visit(plugin, []);
      if (error) return Effect.fail(error);
    }
    return Effect.succeed(order);
  });
