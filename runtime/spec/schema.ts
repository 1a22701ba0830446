/**
 * The tree spec, described once with Effect Schema. Names are stable: later tooling (the wire
 * protocol, the inspector, persisted trees) depends on them.
 */
import { Schema } from "effect";
import type { Problem } from "../errors.ts";
import { closest } from "../suggest.ts";

const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative({ message: () => "must be a whole number ≥ 0" }));
const PositiveInt = Schema.Int.pipe(Schema.positive({ message: () => "must be a whole number > 0" }));

/** Agent and tree names: one address segment. */
export const Name = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
    message: () => "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
  }),
);

export const AgentKindSchema = Schema.Literal("parent", "child", "micro").annotations({
  message: () => 'unknown kind: expected "parent", "child" or "micro"',
});

export const Backoff = Schema.Struct({ minMs: NonNegativeInt, maxMs: NonNegativeInt });

export const Supervision = Schema.Struct({
  strategy: Schema.optional(Schema.Literal("one_for_one", "one_for_all", "rest_for_one")),
  maxRestarts: Schema.optional(NonNegativeInt),
  periodMs: Schema.optional(PositiveInt),
  backoff: Schema.optional(Backoff),
});

export const RestartType = Schema.Literal("permanent", "transient", "temporary");

/**
 * Conversation memory per thread: an ask that names a `thread` gets the earlier exchanges of that
 * thread sent with it, oldest dropped first beyond either bound. Off unless set.
 */
export const History = Schema.Struct({
  maxMessages: Schema.optional(PositiveInt),
  maxTokens: Schema.optional(PositiveInt),
});

export const Mailbox = Schema.Struct({
  capacity: Schema.optional(PositiveInt),
  overflow: Schema.optional(Schema.Literal("backpressure", "drop-newest", "fail")),
});

/**
 * The model an agent uses: an explicit provider (+ model) or a routing profile; other keys (such as the
 * scripted provider's `script`) are provider options, validated by the provider.
 */
export const ModelSpec = Schema.Struct(
  {
    provider: Schema.optional(Schema.String),
    model: Schema.optional(Schema.String),
    profile: Schema.optional(Schema.String),
    temperature: Schema.optional(Schema.Number.pipe(Schema.between(0, 2))),
    maxTokens: Schema.optional(PositiveInt),
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
);

/** The fields of `model` that Arbor itself reads; every other key is a provider option. */
const modelFields = ["provider", "model", "profile", "temperature", "maxTokens"] as const;

/**
 * Splits a model's provider options into likely typos of Arbor's own model fields (`temprature` →
 * "did you mean temperature?") and the rest, which the provider validates.
 */
export const misspelledModelFields = (
  options: Readonly<Record<string, unknown>>,
  path: string,
): { readonly problems: ReadonlyArray<Problem>; readonly rest: Readonly<Record<string, unknown>> } => {
  const problems: Problem[] = [];
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    const match = closest(key, modelFields);
    if (match === undefined) rest[key] = value;
    else problems.push({ path: `${path}.${key}`, message: `unknown field; did you mean ${match}?` });
  }
  return { problems, rest };
};

/**
 * Agent fields that belong to a plugin, and the plugin to load for each. A spec that sets one while
 * its plugin is not loaded is refused: the setting would otherwise silently do nothing.
 */
export const pluginSections: Readonly<Record<string, string>> = {
  guardrails: "guardrailsPlugin",
  tripwires: "tripwiresPlugin",
  tools: "toolsPlugin",
  memory: "memoryPlugin",
};

/** Tree-level sections that belong to a plugin, and the plugin to load for each. */
export const pluginTreeSections: Readonly<Record<string, string>> = {
  workflow: "workflowsPlugin",
};

export interface AgentSpec {
  readonly name: string;
  readonly kind: "parent" | "child" | "micro";
  readonly role?: string | undefined;
  readonly instructions?: string | undefined;
  readonly input?: string | undefined;
  readonly model?: Schema.Schema.Type<typeof ModelSpec> | undefined;
  readonly handler?: string | undefined;
  readonly supervision?: Schema.Schema.Type<typeof Supervision> | undefined;
  readonly restart?: "permanent" | "transient" | "temporary" | undefined;
  readonly mailbox?: Schema.Schema.Type<typeof Mailbox> | undefined;
  readonly maxToolRounds?: number | undefined;
  readonly history?: Schema.Schema.Type<typeof History> | undefined;
  readonly guardrails?: unknown;
  readonly tripwires?: unknown;
  readonly tools?: unknown;
  readonly memory?: unknown;
  readonly children?: ReadonlyArray<AgentSpec> | undefined;
}

/** One agent of a tree, children nested. `guardrails`, `tripwires`, `tools` are validated by their plugins. */
export const AgentSpecSchema: Schema.Schema<AgentSpec> = Schema.Struct({
  name: Name,
  kind: AgentKindSchema,
  role: Schema.optional(Schema.String),
  instructions: Schema.optional(Schema.String),
  input: Schema.optional(Schema.String),
  model: Schema.optional(ModelSpec),
  handler: Schema.optional(Schema.String),
  supervision: Schema.optional(Supervision),
  restart: Schema.optional(RestartType),
  mailbox: Schema.optional(Mailbox),
  maxToolRounds: Schema.optional(PositiveInt),
  history: Schema.optional(History),
  guardrails: Schema.optional(Schema.Unknown),
  tripwires: Schema.optional(Schema.Unknown),
  tools: Schema.optional(Schema.Unknown),
  memory: Schema.optional(Schema.Unknown),
  children: Schema.optional(Schema.Array(Schema.suspend((): Schema.Schema<AgentSpec> => AgentSpecSchema))),
});

/** Deepest `limits.maxDepth` a spec may ask for (specs are refused past 600 levels of JSON nesting). */
export const maxSpecDepth = 256;

export const Limits = Schema.Struct({
  maxDepth: Schema.optional(
    PositiveInt.pipe(
      Schema.lessThanOrEqualTo(maxSpecDepth, { message: () => `must be at most ${maxSpecDepth}` }),
    ),
  ),
  maxChildren: Schema.optional(PositiveInt),
  maxAgents: Schema.optional(PositiveInt),
});

/** A whole tree. */
export const TreeSpecSchema = Schema.Struct({
  name: Name,
  description: Schema.optional(Schema.String),
  root: AgentSpecSchema,
  limits: Schema.optional(Limits),
  /** Keep the tree in the durable store: it comes back after a restart of the runtime. */
  durable: Schema.optional(Schema.Boolean),
});

export type TreeSpec = Schema.Schema.Type<typeof TreeSpecSchema>;

/** Defaults applied when a spec leaves a setting out. */
export const defaults = {
  supervision: {
    strategy: "one_for_one",
    maxRestarts: 3,
    periodMs: 5000,
    backoff: { minMs: 10, maxMs: 1000 },
  },
  restart: "permanent",
  mailbox: { capacity: 1024, overflow: "backpressure" },
  limits: { maxDepth: 16, maxChildren: 10_000, maxAgents: 100_000 },
  maxToolRounds: 8,
  /** Bounds of a thread's history when `history` is set with only one of them. */
  history: { maxMessages: 50, maxTokens: 8000 },
} as const;
