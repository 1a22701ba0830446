/**
 * `defineTool`: a tool from an Effect Schema and a handler. The schema is the single description
 * of the input: it yields the JSON Schema offered to models and MCP clients, and it validates the
 * arguments a model produced, with an error message the model can act on.
 */
import { Effect, JSONSchema, ParseResult, Schema } from "effect";
import type { NeedsApproval, ToolContext, ToolDefinition, ToolPermissions } from "../../runtime/tool.ts";

/** What a tool author writes. The handler gets decoded, typed arguments. */
export interface ToolOptions<A, I> {
  readonly name: string;
  readonly description: string;
  readonly input: Schema.Schema<A, I>;
  readonly run: (args: A, ctx: ToolContext) => Effect.Effect<unknown, string>;
  readonly timeoutMs?: number;
  readonly permissions?: ToolPermissions;
  /** A model's call waits for a person: always, or when the predicate over the decoded arguments says so. */
  readonly needsApproval?: boolean | ((args: A, ctx: ToolContext) => Effect.Effect<boolean>);
}

type Json = unknown;

/** Replaces `{"$ref": "#/$defs/X"}` by the definition itself, except inside a recursive definition. */
const inline = (
  node: Json,
  defs: Record<string, Json>,
  stack: ReadonlyArray<string>,
): { node: Json; kept: boolean } => {
  if (Array.isArray(node)) {
    let kept = false;
    const items = node.map((item) => {
      const r = inline(item, defs, stack);
      kept ||= r.kept;
      return r.node;
    });
    return { node: items, kept };
  }
  if (typeof node !== "object" || node === null) return { node, kept: false };
  const record = node as Record<string, Json>;
  const ref = record.$ref;
  if (typeof ref === "string" && ref.startsWith("#/$defs/")) {
    const name = ref.slice("#/$defs/".length);
    if (stack.includes(name) || !(name in defs)) return { node, kept: true };
    return inline(defs[name], defs, [...stack, name]);
  }
  let kept = false;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(record)) {
    const r = inline(value, defs, stack);
    kept ||= r.kept;
    out[key] = r.node;
  }
  return { node: out, kept };
};

/**
 * The JSON Schema of an Effect Schema as models and MCP clients like it: no `$schema` marker, and
 * definitions inlined (many providers do not follow `$ref`); only recursive schemas keep `$defs`.
 */
export const toJsonSchema = <A, I>(schema: Schema.Schema<A, I>): Readonly<Record<string, unknown>> => {
  const { $schema: _ignored, $defs, ...rest } = JSONSchema.make(schema) as unknown as Record<string, unknown>;
  if (typeof $defs !== "object" || $defs === null) return rest;
  const { node, kept } = inline(rest, $defs as Record<string, Json>, []);
  return kept ? { ...(node as Record<string, unknown>), $defs } : (node as Record<string, unknown>);
};

/**
 * Defines a tool. Gotcha: the handler sees the *decoded* value (`Schema.Type`), so a schema with
 * transformations (e.g. `NumberFromString`) hands the handler the transformed value.
 */
export const defineTool = <A, I>(options: ToolOptions<A, I>): ToolDefinition => {
  const decode = Schema.decodeUnknown(options.input, { errors: "all", onExcessProperty: "error" });
  const validate = (args: unknown) =>
    decode(args).pipe(Effect.mapError((error) => ParseResult.TreeFormatter.formatErrorSync(error)));
  return {
    name: options.name,
    description: options.description,
    inputSchema: toJsonSchema(options.input),
    validate,
    run: (args, ctx) => options.run(args as A, ctx),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.permissions === undefined ? {} : { permissions: options.permissions }),
    ...(options.needsApproval === undefined ? {} : { needsApproval: options.needsApproval as NeedsApproval }),
  };
};
