/**
 * Validates a raw tree spec and resolves inheritance in one pass. An invalid spec is refused as a
 * whole: every problem is listed by JSON path, schema problems and semantic ones (duplicate sibling
 * names, a micro with children, a child spawning a parent, limits, unknown provider, handler or tool
 * references, object cycles, loosened settings) together.
 */

import { Either, Schema } from "effect";
import { type Problem, SpecInvalid } from "../errors.ts";
import type { ModelChoice, ProviderLookup } from "../model.ts";
import { nestingProblem, specMaxNesting } from "../nesting.ts";
import type { SpecExtension, SpecSection } from "../plugin.ts";
import { problemsOf } from "../problems.ts";
import { checkExtensions, expandSpec } from "./extensions.ts";
import {
  type AgentSpec,
  AgentSpecSchema,
  defaults,
  misspelledModelFields,
  pluginSections,
  pluginTreeSections,
  type TreeSpec,
  TreeSpecSchema,
} from "./schema.ts";

/** What validation may consult: the registries of the runtime and the tree's own plugins. */
export interface CompileContext {
  readonly providers: ProviderLookup;
  readonly hasHandler: (name: string) => boolean;
  readonly hasTool: (name: string) => boolean;
  readonly sections: ReadonlyArray<SpecSection>;
  /** Whole-spec extensions (roles, workflows); none when absent. */
  readonly extensions?: ReadonlyArray<SpecExtension>;
  /** The tree id the addresses are built from (unique in the runtime). */
  readonly treeId: string;
}

/** One agent of a compiled tree: every default applied, every inherited setting resolved. */
export interface CompiledAgent {
  readonly spec: AgentSpec;
  readonly name: string;
  readonly kind: AgentSpec["kind"];
  readonly address: string;
  readonly depth: number;
  readonly model: ModelChoice | undefined;
  readonly supervision: {
    readonly strategy: "one_for_one" | "one_for_all" | "rest_for_one";
    readonly maxRestarts: number;
    readonly periodMs: number;
    readonly backoff: { readonly minMs: number; readonly maxMs: number };
  };
  readonly restart: "permanent" | "transient" | "temporary";
  readonly mailbox: { readonly capacity: number; readonly overflow: "backpressure" | "drop-newest" | "fail" };
  readonly maxToolRounds: number;
  /** Per-thread conversation memory; undefined = off. */
  readonly history: { readonly maxMessages: number; readonly maxTokens: number } | undefined;
  /** Plugin-owned sections (`guardrails`, `tripwires`, `tools`, …) after inheritance. */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly children: ReadonlyArray<CompiledAgent>;
}

export interface CompiledTree {
  readonly spec: TreeSpec;
  readonly treeId: string;
  readonly root: CompiledAgent;
  readonly agents: number;
  readonly limits: { readonly maxDepth: number; readonly maxChildren: number; readonly maxAgents: number };
}

const schemaProblems = (raw: unknown, schema: Schema.Schema<unknown, unknown>): ReadonlyArray<Problem> => {
  const result = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(raw);
  return Either.isRight(result) ? [] : problemsOf(result.left, { schema });
};

const noChildren: ReadonlyArray<CompiledAgent> = [];

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const toModelChoice = (model: Record<string, unknown>): ModelChoice => {
  const { provider, model: name, profile, temperature, maxTokens, ...options } = model;
  return {
    ...(typeof provider === "string" ? { provider } : {}),
    ...(typeof name === "string" ? { model: name } : {}),
    ...(typeof profile === "string" ? { profile } : {}),
    ...(typeof temperature === "number" ? { temperature } : {}),
    ...(typeof maxTokens === "number" ? { maxTokens } : {}),
    options,
  };
};

/** Where a compiled subtree hangs: used to spawn one agent below a running one. */
interface Base {
  readonly parent: CompiledAgent;
  readonly limits: CompiledTree["limits"];
}

/** Validates and resolves a raw spec; `Left` carries every problem found. */
export const compileTree = (raw: unknown, ctx: CompileContext): Either.Either<CompiledTree, SpecInvalid> =>
  compile(raw, ctx, undefined);

const compile = (
  raw: unknown,
  ctx: CompileContext,
  base: Base | undefined,
): Either.Either<CompiledTree, SpecInvalid> => {
  // Depth and cycles first, without recursion: the decoder and the compiler below both recurse.
  const deep = nestingProblem(raw, specMaxNesting);
  if (deep) return Either.left(new SpecInvalid({ reason: "invalid_spec", problems: [deep] }));
  const extensions = ctx.extensions ?? [];
  if (!base && isRecord(raw)) {
    const expanded = expandSpec(raw, extensions, new Set(ctx.sections.map((section) => section.key)));
    if (Either.isLeft(expanded))
      return Either.left(new SpecInvalid({ reason: "invalid_spec", problems: expanded.left }));
    raw = expanded.right;
  }
  const owned = new Set(extensions.flatMap((x) => x.treeKeys ?? []));
  const decodable =
    !base && isRecord(raw) ? Object.fromEntries(Object.entries(raw).filter(([k]) => !owned.has(k))) : raw;
  const problems: Problem[] = base
    ? [...schemaProblems(raw, AgentSpecSchema as Schema.Schema<unknown, unknown>)]
    : [...schemaProblems(decodable, TreeSpecSchema as Schema.Schema<unknown, unknown>)];
  if (!base && isRecord(raw))
    for (const [key, plugin] of Object.entries(pluginTreeSections))
      if (raw[key] !== undefined && !owned.has(key)) {
        const at = problems.findIndex((p) => p.path === `$.${key}`);
        if (at >= 0) problems.splice(at, 1);
        problems.push({ path: `$.${key}`, message: `no plugin handles ${key}: load ${plugin}` });
      }
  const tree = base ? { root: raw, limits: base.limits } : isRecord(raw) ? raw : {};
  const limitsRaw = isRecord(tree.limits) ? tree.limits : {};
  const limit = (key: keyof typeof defaults.limits) =>
    typeof limitsRaw[key] === "number" && (limitsRaw[key] as number) > 0
      ? (limitsRaw[key] as number)
      : defaults.limits[key];
  const limits = {
    maxDepth: limit("maxDepth"),
    maxChildren: limit("maxChildren"),
    maxAgents: limit("maxAgents"),
  };
  let agents = 0;
  // Parts many agents have alike are made once per tree and shared, not made per agent: an idle
  // agent's compiled spec is most of what it holds.
  const modelChoices = new Map<Record<string, unknown>, ModelChoice>();
  const modelChoiceOf = (model: Record<string, unknown>): ModelChoice => {
    let choice = modelChoices.get(model);
    if (choice === undefined) {
      choice = toModelChoice(model);
      modelChoices.set(model, choice);
    }
    return choice;
  };
  const defaultSupervision: CompiledAgent["supervision"] = {
    strategy: defaults.supervision.strategy,
    maxRestarts: defaults.supervision.maxRestarts,
    periodMs: defaults.supervision.periodMs,
    backoff: { minMs: defaults.supervision.backoff.minMs, maxMs: defaults.supervision.backoff.maxMs },
  };
  const defaultMailbox: CompiledAgent["mailbox"] = {
    capacity: defaults.mailbox.capacity,
    overflow: defaults.mailbox.overflow,
  };

  const walk = (
    node: unknown,
    path: string,
    depth: number,
    parentAddress: string,
    parentKind: AgentSpec["kind"] | undefined,
    inherited: { model: ModelChoice | undefined; settings: Record<string, unknown> },
  ): CompiledAgent | undefined => {
    if (!isRecord(node)) return undefined;
    agents++;
    const name = typeof node.name === "string" ? node.name : "?";
    const kind =
      node.kind === "parent" || node.kind === "child" || node.kind === "micro" ? node.kind : undefined;
    const address = `${parentAddress}/${name}`;
    if (depth > limits.maxDepth)
      problems.push({ path, message: `too deep: depth ${depth} exceeds limits.maxDepth ${limits.maxDepth}` });
    if (kind === "parent" && parentKind === "child")
      problems.push({
        path: `${path}.kind`,
        message:
          "a child agent cannot have a parent agent below it (children may only spawn children and micro agents)",
      });
    if (kind && parentKind === "micro") problems.push({ path, message: "a micro agent cannot spawn" });

    // Model: own or inherited; validated by its provider.
    let model = inherited.model;
    if (isRecord(node.model)) {
      model = modelChoiceOf(node.model);
      if (model.provider !== undefined) {
        const provider = ctx.providers.get(model.provider);
        if (!provider) {
          problems.push({
            path: `${path}.model.provider`,
            message: `unknown provider "${model.provider}" (available: ${ctx.providers.names().join(", ") || "none"})`,
          });
        } else {
          const validate = (provider as { validate?: (o: unknown, p: string) => ReadonlyArray<Problem> })
            .validate;
          const typos = misspelledModelFields(model.options ?? {}, `${path}.model`);
          problems.push(...typos.problems);
          if (validate) problems.push(...validate(typos.rest, `${path}.model`));
        }
      } else if (model.profile === undefined) {
        problems.push({
          path: `${path}.model`,
          message: 'name a "provider" (e.g. "scripted") or a routing "profile"',
        });
      }
    }
    const handler = typeof node.handler === "string" ? node.handler : undefined;
    if (handler !== undefined) {
      if (kind !== undefined && kind !== "micro")
        problems.push({ path: `${path}.handler`, message: "only micro agents take a handler" });
      else if (!ctx.hasHandler(handler))
        problems.push({ path: `${path}.handler`, message: `unknown handler "${handler}"` });
    } else if (!model && kind) {
      problems.push({
        path,
        message: "no model: set `model` on this agent or an ancestor (or a `handler` on a micro agent)",
      });
    }
    // Tool references: a list of names, or the tools section's `allow` / `deny` lists.
    const toolLists: Array<[string, unknown]> = Array.isArray(node.tools)
      ? [[`${path}.tools`, node.tools]]
      : isRecord(node.tools)
        ? [
            [`${path}.tools.allow`, node.tools.allow],
            [`${path}.tools.deny`, node.tools.deny],
          ]
        : [];
    for (const [listPath, list] of toolLists) {
      if (!Array.isArray(list)) continue;
      list.forEach((tool, i) => {
        if (typeof tool === "string" && !tool.endsWith("*") && !ctx.hasTool(tool))
          problems.push({
            path: `${listPath}[${i}]`,
            message: `unknown tool "${tool}" (for an MCP server's tools that may not be up yet, use a pattern such as "mcp.<server>.*")`,
          });
      });
    }
    const sup = isRecord(node.supervision) ? node.supervision : {};
    const backoff = isRecord(sup.backoff) ? sup.backoff : undefined;
    if (
      backoff &&
      typeof backoff.minMs === "number" &&
      typeof backoff.maxMs === "number" &&
      backoff.minMs > backoff.maxMs
    )
      problems.push({ path: `${path}.supervision.backoff`, message: "minMs must not exceed maxMs" });

    // Plugin-owned sections: validate, then merge with what is inherited (tighten only). An agent
    // with none of its own shares its parent's settings.
    let settings = inherited.settings;
    for (const section of ctx.sections) {
      const own = node[section.key];
      if (own === undefined) continue;
      if (settings === inherited.settings) settings = { ...inherited.settings };
      const sectionPath = `${path}.${section.key}`;
      const sectionProblems = section.validate(own, sectionPath);
      if (sectionProblems.length > 0) {
        problems.push(...sectionProblems);
        continue;
      }
      const merged = section.merge(settings[section.key], own, sectionPath);
      if ("problems" in merged) problems.push(...merged.problems);
      else settings[section.key] = merged.value;
    }

    for (const [key, plugin] of Object.entries(pluginSections))
      if (node[key] !== undefined && !ctx.sections.some((section) => section.key === key))
        problems.push({ path: `${path}.${key}`, message: `no plugin handles ${key}: load ${plugin}` });

    const rawChildren = Array.isArray(node.children) ? node.children : [];
    if (rawChildren.length > 0 && kind === "micro")
      problems.push({ path: `${path}.children`, message: "a micro agent cannot have children" });
    if (rawChildren.length > limits.maxChildren)
      problems.push({
        path: `${path}.children`,
        message: `${rawChildren.length} children exceed limits.maxChildren ${limits.maxChildren}`,
      });
    const seen = new Map<string, number>();
    rawChildren.forEach((child, i) => {
      if (isRecord(child) && typeof child.name === "string") {
        const first = seen.get(child.name);
        if (first !== undefined)
          problems.push({
            path: `${path}.children[${i}].name`,
            message: `duplicate sibling name "${child.name}" (also at children[${first}])`,
          });
        else seen.set(child.name, i);
      }
    });
    const children =
      rawChildren.length === 0
        ? noChildren
        : rawChildren
            .map((child, i) =>
              walk(child, `${path}.children[${i}]`, depth + 1, address, kind, { model, settings }),
            )
            .filter((c): c is CompiledAgent => c !== undefined);

    return {
      spec: node as unknown as AgentSpec,
      name,
      kind: kind ?? "child",
      address,
      depth,
      model,
      supervision: isRecord(node.supervision)
        ? {
            strategy:
              (sup.strategy as CompiledAgent["supervision"]["strategy"]) ?? defaults.supervision.strategy,
            maxRestarts: (sup.maxRestarts as number) ?? defaults.supervision.maxRestarts,
            periodMs: (sup.periodMs as number) ?? defaults.supervision.periodMs,
            backoff: {
              minMs: (backoff?.minMs as number) ?? defaults.supervision.backoff.minMs,
              maxMs: (backoff?.maxMs as number) ?? defaults.supervision.backoff.maxMs,
            },
          }
        : defaultSupervision,
      restart: (node.restart as CompiledAgent["restart"]) ?? defaults.restart,
      mailbox: isRecord(node.mailbox)
        ? {
            capacity: (node.mailbox.capacity as number) || defaults.mailbox.capacity,
            overflow:
              (node.mailbox.overflow as CompiledAgent["mailbox"]["overflow"]) || defaults.mailbox.overflow,
          }
        : defaultMailbox,
      maxToolRounds: (node.maxToolRounds as number) ?? defaults.maxToolRounds,
      history: isRecord(node.history)
        ? {
            maxMessages: (node.history.maxMessages as number | undefined) ?? defaults.history.maxMessages,
            maxTokens: (node.history.maxTokens as number | undefined) ?? defaults.history.maxTokens,
          }
        : undefined,
      settings,
      children,
    };
  };

  const root = base
    ? walk(raw, "$", base.parent.depth + 1, base.parent.address, base.parent.kind, {
        model: base.parent.model,
        settings: { ...base.parent.settings },
      })
    : walk(tree.root, "$.root", 0, `/${ctx.treeId}`, undefined, { model: undefined, settings: {} });
  if (agents > limits.maxAgents)
    problems.push({
      path: "$.root",
      message: `${agents} agents exceed limits.maxAgents ${limits.maxAgents}`,
    });
  if (problems.length === 0 && root && !base && isRecord(raw))
    problems.push(...checkExtensions(raw, root, extensions));
  if (problems.length > 0 || !root) {
    const unique = problems.filter(
      (p, i) => problems.findIndex((q) => q.path === p.path && q.message === p.message) === i,
    );
    return Either.left(new SpecInvalid({ reason: "invalid_spec", problems: unique }));
  }
  return Either.right({ spec: raw as TreeSpec, treeId: ctx.treeId, root, agents, limits });
};

/** Compiles one agent spec to be spawned at runtime below `parent` (the `spawn_agent` tool, the API). */
export const compileAgent = (
  raw: unknown,
  parent: CompiledAgent,
  ctx: CompileContext,
  limits: CompiledTree["limits"],
): Either.Either<CompiledAgent, SpecInvalid> =>
  Either.map(compile(raw, ctx, { parent, limits }), (tree) => tree.root);
