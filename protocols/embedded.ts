/**
 * `createArbor`: the runtime for TypeScript users who do not use Effect — Promises in, Promises out.
 * Everything is the same runtime the CLI and the server use; `close()` stops every tree in order
 * and unloads the plugins.
 */

import { Effect, Exit, Scope } from "effect";
import { runWorkflow, type WorkflowResult, workflowTask } from "../agents/workflow/run.ts";
import type { WorkflowSpec } from "../agents/workflow/schema.ts";
import { type ArborRuntime, makeAgentSystem } from "../runtime/agent-system.ts";
import type { ApprovalDecisionInput, ApprovalEntry } from "../runtime/approvals.ts";
import { type AnyPlugin, toPlugin } from "../runtime/async-plugin.ts";
import { configSections } from "../runtime/config.ts";
import type { ResumeReport } from "../runtime/durable/resume.ts";
import type { ArborEvent } from "../runtime/events.ts";
import type { Plugin } from "../runtime/plugin.ts";
import { type RunOptions, type RunSummary, runTree } from "../runtime/run.ts";
import type { TreeSpec } from "../runtime/spec/schema.ts";
import type { AgentNode, AskOptions, HistoryMessage, Reply, TreeHandle } from "../runtime/system.ts";
import type { ToolDefinition } from "../runtime/tool.ts";
import { type EmbeddedApprovalHandler, streamAsk } from "./embedded-stream.ts";
import { defaultPlugins } from "./preset.ts";
import type { StreamPart } from "./stream-parts.ts";

/** A config section (`providers`, `guardrails`, …): each plugin validates its own. */
type Section = Readonly<Record<string, unknown>>;

/** The sections of `arbor.config.json`; the one-section options of `createArbor` take the same shapes. */
export interface ArborConfig {
  readonly providers?: Section;
  readonly profiles?: Section;
  readonly budgets?: Section;
  readonly cache?: Section;
  readonly routing?: Section;
  readonly guardrails?: Section;
  readonly tripwires?: Section;
  readonly tools?: Section;
  readonly mcp?: Section;
  readonly knowledge?: Section;
  readonly server?: Section;
  /** `agents.rolesDir`: a folder of your own roles (see agents/README.md). */
  readonly agents?: Section;
  /** `approvals.timeoutMs`: how long a tool call waits for a person before it is denied (default 10 min). */
  readonly approvals?: Section;
}

export interface ArborOptions extends ArborConfig {
  /**
   * Extra runtime-level plugins, Effect or async ones. A plugin named like a default one
   * (`providers`, `guardrails`, `tools`, …) replaces it instead of being loaded twice.
   */
  readonly plugins?: ReadonlyArray<AnyPlugin>;
  /** Your own tools (made with `tool()` or `defineTool()`), offered to agents whose spec allows them. */
  readonly customTools?: ReadonlyArray<ToolDefinition>;
  /** The whole configuration, as in `arbor.config.json`; the section options above override it. */
  readonly config?: ArborConfig & Section;
  /**
   * Opens memory: the knowledge graph of the `knowledge` section (embedded PGlite in
   * `./.arbor/data` by default, Postgres with `ARBOR_PG_URL`) with the `memory.*` tools, and the
   * providers' usage ledger and key state in the same database — as `arbor run --memory`.
   */
  readonly memory?: boolean;
  /**
   * Durable trees, kept in memory's database (opened for them): `true` keeps trees whose spec says
   * `"durable": true`; `{ byDefault: true }` keeps every tree (as `server.durableTrees`). Trees kept
   * by an earlier process on the same database come back under the same ids before `createArbor`
   * resolves, and their tasks in flight resume (see `resumed`).
   */
  readonly durable?: boolean | { readonly byDefault?: boolean };
}

export interface ArborSpawnOptions {
  readonly tenant?: string;
  /** Plugins loaded for this tree only; unloaded when it stops. */
  readonly plugins?: ReadonlyArray<AnyPlugin>;
}

export interface ArborRunOptions extends ArborSpawnOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
  /** Ask the root with streaming: `agent.delta` events (see `onEvent`) as it writes. */
  readonly stream?: boolean;
}

/** A tree spec as `createArbor` takes it: optionally with a workflow over its agents. */
export type ArborTreeSpec = TreeSpec & { readonly workflow?: WorkflowSpec };

/** The Promise face of the runtime. Failures reject with the runtime's typed errors (`_tag`, `reason`, `fault`). */
export interface Arbor {
  readonly spawn: (spec: ArborTreeSpec, options?: ArborSpawnOptions) => Promise<TreeHandle>;
  /** Asks and waits; `options`: the deadline, a `requestId` to `cancel` by, a conversation `thread`. */
  readonly ask: (to: string, input: string, options?: AskOptions) => Promise<Reply>;
  /** Withdraws an ask made with `requestId`: it fails with `Cancelled`, the agent's step is interrupted. */
  readonly cancel: (to: string, requestId: string) => Promise<{ readonly cancelled: boolean }>;
  /** The remembered messages of a thread of agent `to`. */
  readonly history: (to: string, thread: string) => Promise<ReadonlyArray<HistoryMessage>>;
  readonly send: (to: string, message: string) => Promise<void>;
  readonly inspect: (treeId: string) => Promise<AgentNode>;
  readonly stop: (treeId: string, reason?: string) => Promise<void>;
  /** Spawns the tree, gives its root the input (or runs its workflow, when it has one), stops it. */
  readonly run: (spec: ArborTreeSpec, options?: ArborRunOptions) => Promise<RunSummary>;
  /** Runs a running tree's workflow on `input`; resolves with every step's outcome. */
  readonly runWorkflow: (
    treeId: string,
    input: string,
    options?: { readonly runId?: string },
  ) => Promise<WorkflowResult>;
  /**
   * Asks with streaming: yields the answer's deltas as the agent writes them (through its output
   * guardrails), then the result, whose `output` is the deltas joined.
   */
  readonly stream: (
    to: string,
    input: string,
    options?: Omit<AskOptions, "stream">,
  ) => AsyncIterable<StreamPart>;
  /**
   * Calls `handler` with every tool call that waits for a person (`needsApproval`, `tools.approve`);
   * a decision it returns is made at once. Returns the unsubscribe function.
   */
  readonly onApproval: (handler: EmbeddedApprovalHandler) => () => void;
  /** Approves or denies a pending tool call (edited `args` are checked against the tool's schema). */
  readonly decide: (approvalId: string, decision: ApprovalDecisionInput) => Promise<ApprovalEntry>;
  /** Calls `listener` with every event, in order; returns the unsubscribe function. */
  readonly onEvent: (listener: (event: ArborEvent) => void) => () => void;
  /** The durable trees that came back when this runtime started, and those kept down (with why); `undefined` without `durable`. */
  readonly resumed: ResumeReport | undefined;
  /** The Effect runtime underneath, for everything else. */
  readonly runtime: ArborRuntime;
  readonly close: () => Promise<void>;
}

/** The value, or the typed failure thrown (a defect as an Error). */
const settled = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value;
  throw exit.cause._tag === "Fail" ? exit.cause.error : new Error(String(exit.cause));
};

const promise = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromiseExit(effect).then(settled);

/** The configuration: `config`, with each section given on its own taking its place. */
const configOf = (options: ArborOptions): Section => {
  const config: Record<string, unknown> = { ...(options.config ?? {}) };
  for (const key of configSections)
    if (options[key as keyof ArborConfig] !== undefined) config[key] = options[key as keyof ArborConfig];
  return config;
};

/** Memory's database as `createArbor` uses it: its plugin, and the stores kept in it. */
type OpenedMemory = Effect.Effect.Success<ReturnType<typeof import("./memory.ts").openMemory>>;

/** The plugin set: defaults, minus those a user plugin of the same name replaces, then the user's. */
const pluginsOf = (
  options: ArborOptions,
  config: Section,
  memory: OpenedMemory | undefined,
): ReadonlyArray<Plugin> => {
  const own = (options.plugins ?? []).map(toPlugin);
  const replaced = new Set(own.map((p) => p.name));
  const custom = options.customTools ?? [];
  const toolsPlugin: ReadonlyArray<Plugin> =
    custom.length === 0
      ? []
      : [
          {
            name: "custom-tools",
            version: "1.0.0",
            setup: (host) => Effect.forEach(custom, (t) => host.registerTool(t), { discard: true }),
          },
        ];
  const defaults = defaultPlugins(config, memory ? { ledger: memory.ledger, keyStore: memory.keyStore } : {});
  return [
    ...defaults.filter((p) => !replaced.has(p.name)),
    ...(memory ? [memory.plugin] : []),
    ...own,
    ...toolsPlugin,
  ];
};

const spawnOptionsOf = (options: ArborSpawnOptions = {}) => ({
  ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
  ...(options.plugins ? { plugins: options.plugins.map(toPlugin) } : {}),
});

/**
 * The runtime, with memory's database open when memory or durable trees are asked for (loaded only
 * then: a plain runtime does not load the knowledge graph), and kept durable trees resumed.
 */
const start = (options: ArborOptions, config: Section) =>
  Effect.gen(function* () {
    const durable = options.durable === undefined || options.durable === false ? undefined : options.durable;
    let memory: OpenedMemory | undefined;
    let system: ArborRuntime | undefined;
    if (options.memory === true || durable !== undefined) {
      const { lateModelRouter, openMemory } = yield* Effect.promise(() => import("./memory.ts"));
      // Memory opens before the runtime, whose router (key pools, fallbacks) it embeds through.
      memory = yield* openMemory(
        config.knowledge,
        lateModelRouter(() => system?.models()),
      );
    }
    system = yield* makeAgentSystem({
      plugins: pluginsOf(options, config, memory),
      config,
      ...(memory && durable !== undefined
        ? {
            durable: {
              store: memory.durableStore,
              byDefault: typeof durable === "object" && durable.byDefault === true,
            },
          }
        : {}),
    });
    const resumed = durable !== undefined ? yield* system.resumeDurable() : undefined;
    return { runtime: system, resumed };
  });

export const createArbor = async (options: ArborOptions = {}): Promise<Arbor> => {
  const scope = Effect.runSync(Scope.make());
  const config = configOf(options);
  const started = await Effect.runPromiseExit(start(options, config).pipe(Scope.extend(scope)));
  if (Exit.isFailure(started)) await Effect.runPromise(Scope.close(scope, started));
  const { runtime, resumed } = settled(started);
  return {
    resumed,
    spawn: (spec, spawnOptions) => promise(runtime.spawnTree(spec, spawnOptionsOf(spawnOptions))),
    ask: (to, input, askOptions) => {
      if (askOptions?.timeoutMs !== undefined || askOptions?.idempotencyKey !== undefined)
        return promise(runtime.ask(to, input, askOptions));
      // A handler micro agent answers synchronously: settle from its answer, without a fiber.
      const fast = runtime.router.askNow(to, input);
      // Any other agent: into its mailbox, answered through a callback, still without a fiber here.
      if (fast === undefined)
        return new Promise<Reply>((resolve, reject) => {
          runtime.router.askWith(to, input, undefined, askOptions ?? {}, (exit) => {
            if (Exit.isSuccess(exit)) resolve(exit.value);
            else reject(exit.cause._tag === "Fail" ? exit.cause.error : new Error(String(exit.cause)));
          });
        });
      if ("later" in fast) return promise(fast.later);
      try {
        return Promise.resolve(settled(fast.now));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    cancel: (to, requestId) => promise(runtime.cancel(to, requestId)),
    history: (to, thread) => promise(runtime.history(to, thread)),
    send: (to, message) => {
      // The router's synchronous tell, without a fiber, where its outcome is send's: delivered, or
      // dropped by a drop-newest mailbox. A refusal (fail policy), a wait for space (backpressure)
      // and an unknown address take the runtime's path and its typed errors.
      const target = runtime.router.resolve(to);
      if (target !== undefined && target.mailbox.overflow !== "fail") {
        const told = runtime.router.tell(to, message);
        if (told === "ok" || told === "dropped") return Promise.resolve();
      }
      return promise(runtime.send(to, message));
    },
    inspect: (treeId) => promise(runtime.inspect(treeId)),
    stop: (treeId, reason) => promise(runtime.stopTree(treeId, reason)),
    run: (spec, runOptions = {}) => {
      const run: RunOptions = {
        ...spawnOptionsOf(runOptions),
        ...(runOptions.input !== undefined ? { input: runOptions.input } : {}),
        ...(runOptions.timeoutMs !== undefined ? { timeoutMs: runOptions.timeoutMs } : {}),
        ...(runOptions.stream ? { stream: true } : {}),
      };
      const task =
        spec.workflow === undefined
          ? {}
          : { task: (tree: TreeHandle, input: string) => workflowTask(runtime, tree.treeId, input) };
      return promise(runTree(runtime, spec, { ...run, ...task }));
    },
    runWorkflow: (treeId, input, workflowOptions = {}) =>
      promise(runWorkflow(runtime, treeId, input, workflowOptions)),
    stream: (to, input, askOptions = {}) => streamAsk(runtime, to, input, askOptions),
    onApproval: (handler) =>
      runtime.events.listen(
        (event) => {
          if (event.type !== "approval.requested") return;
          const entry = runtime.approvals.entries().find((e) => e.approvalId === event.approvalId);
          if (entry === undefined) return;
          void Promise.resolve(handler(entry))
            .then((decision) =>
              decision
                ? promise(runtime.approvals.decide(entry.approvalId, decision, "operator"))
                : undefined,
            )
            .catch(() => {}); // decided elsewhere first
        },
        { types: ["approval.requested"] },
      ),
    decide: (approvalId, decision) => promise(runtime.approvals.decide(approvalId, decision, "operator")),
    onEvent: (listener) => runtime.events.listen(listener),
    runtime,
    close: () => promise(Scope.close(scope, Exit.void)),
  };
};
