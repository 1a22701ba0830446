/**
 * `tool()`: a tool without Effect. `parameters` is a zod schema, any Standard Schema (its
 * `~standard` interface validates; its JSON Schema, when it offers one, is what models see) or a
 * plain JSON Schema object (validated by zod's JSON Schema reader). `execute` is an async function;
 * its `signal` aborts when the call times out or the agent stops.
 */
import { Effect } from "effect";
import { z } from "zod";
import type { AgentInfo } from "../../runtime/agent-info.ts";
import type { NeedsApproval, ToolDefinition, ToolPermissions } from "../../runtime/tool.ts";
import { promiseWithin } from "./within.ts";

/** One problem a Standard Schema reports. */
export interface StandardIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

type StandardResult<O> =
  | { readonly value: O; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> };

/** The Standard Schema interface (v1), as zod 4, Valibot, ArkType and others implement it. */
export interface StandardSchema<O = unknown> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<O> | Promise<StandardResult<O>>;
    readonly types?: { readonly input: unknown; readonly output: O } | undefined;
    readonly jsonSchema?:
      | { readonly input: (options: { readonly target: "draft-2020-12" }) => Record<string, unknown> }
      | undefined;
  };
}

/** A JSON Schema object for the arguments (`{ type: "object", properties: …, required: … }`). */
export interface JsonSchemaObject {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly required?: ReadonlyArray<string>;
  readonly [keyword: string]: unknown;
}

/** What `execute` gets besides the arguments. */
export interface ToolCallContext {
  readonly agent: AgentInfo;
  readonly signal: AbortSignal;
}

/** The arguments a parameter description yields: the schema's output type, or a plain object. */
export type ArgsOf<P> = P extends StandardSchema<infer O> ? O : Readonly<Record<string, unknown>>;

export interface PromiseToolOptions<P extends StandardSchema | JsonSchemaObject> {
  readonly name: string;
  readonly description: string;
  readonly parameters: P;
  readonly execute: (args: ArgsOf<P>, context: ToolCallContext) => Promise<unknown>;
  readonly timeoutMs?: number;
  readonly permissions?: ToolPermissions;
  /**
   * A model's call waits for a person's approval (`approval.requested`): `true`, or a predicate over
   * the validated arguments (`(args) => args.path.startsWith("/etc")`).
   */
  readonly needsApproval?:
    | boolean
    | ((args: ArgsOf<P>, context: { readonly agent: AgentInfo }) => boolean | Promise<boolean>);
}

const isStandard = (value: unknown): value is StandardSchema =>
  typeof value === "object" && value !== null && "~standard" in value;

const pathOf = (issue: StandardIssue): string =>
  (issue.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment)).join(".");

const describeIssues = (issues: ReadonlyArray<StandardIssue>): string =>
  issues.map((issue) => (pathOf(issue) ? `${pathOf(issue)}: ${issue.message}` : issue.message)).join("; ");

const jsonSchemaOf = (schema: StandardSchema): Readonly<Record<string, unknown>> => {
  const converter = schema["~standard"].jsonSchema;
  if (!converter) return { type: "object", additionalProperties: true };
  const { $schema: _marker, ...rest } = converter.input({ target: "draft-2020-12" });
  return rest;
};

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The Promise predicate as the tool port's Effect one (a throwing predicate asks for approval). */
const approvalOf = <A>(
  needs: boolean | ((args: A, context: { readonly agent: AgentInfo }) => boolean | Promise<boolean>),
): NeedsApproval =>
  typeof needs === "boolean"
    ? needs
    : (args, ctx) =>
        Effect.tryPromise(async () => needs(args as A, { agent: ctx.agent })).pipe(
          Effect.orElseSucceed(() => true),
        );

const verdictOf = (result: StandardResult<unknown>): Effect.Effect<unknown, string> =>
  result.issues
    ? Effect.fail(`invalid arguments: ${describeIssues(result.issues)}`)
    : Effect.succeed(result.value);

/** `execute`'s context, its `signal` made only if `execute` reads it. */
const lazyContext = (agent: AgentInfo, signal: () => AbortSignal): ToolCallContext => ({
  agent,
  get signal() {
    return signal();
  },
});

/** Defines a tool from a schema and an async function. */
export const tool = <const P extends StandardSchema | JsonSchemaObject>(
  options: PromiseToolOptions<P>,
): ToolDefinition => {
  const schema: StandardSchema = isStandard(options.parameters)
    ? options.parameters
    : (z.fromJSONSchema(options.parameters as Parameters<typeof z.fromJSONSchema>[0]) as StandardSchema);
  const inputSchema = isStandard(options.parameters)
    ? jsonSchemaOf(options.parameters)
    : (options.parameters as Readonly<Record<string, unknown>>);
  return {
    name: options.name,
    description: options.description,
    inputSchema,
    validate: (args) =>
      Effect.suspend(() => {
        let result: StandardResult<unknown> | Promise<StandardResult<unknown>>;
        try {
          result = schema["~standard"].validate(args);
        } catch (error) {
          return Effect.fail(`invalid arguments: ${messageOf(error)}`);
        }
        // Most schemas (zod's among them) answer at once: no Promise to wait for.
        return result instanceof Promise
          ? Effect.flatMap(
              Effect.tryPromise({
                try: () => result,
                catch: (error) => `invalid arguments: ${messageOf(error)}`,
              }),
              verdictOf,
            )
          : verdictOf(result);
      }),
    run: (args, ctx) =>
      Effect.tryPromise({
        try: (signal) => options.execute(args as ArgsOf<P>, { agent: ctx.agent, signal }),
        catch: messageOf,
      }),
    runWithin: (args, ctx, limit) =>
      promiseWithin(
        (signal) => options.execute(args as ArgsOf<P>, lazyContext(ctx.agent, signal)),
        limit,
        messageOf,
      ),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.permissions === undefined ? {} : { permissions: options.permissions }),
    ...(options.needsApproval === undefined ? {} : { needsApproval: approvalOf(options.needsApproval) }),
  };
};
