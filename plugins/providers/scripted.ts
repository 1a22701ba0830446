/**
 * The scripted provider: the offline model. An agent's `model.script` is a list of steps —
 * `{ "text": "…" }`, `{ "stream": ["Hel", "lo"] }` (text written piece by piece: a streaming call gets
 * one delta per piece, `delayMs` before each), `{ "toolCalls": [{ "name": "…", "args": {…} }] }`,
 * `{ "error": "…" }` (a provider error), `{ "crash": "…" }` (the agent fails abnormally), each
 * optionally with `"delayMs": n`.
 * Steps are consumed one per model call, in order, per agent address; the position survives restarts
 * (it lives in the provider, not the agent), so `[{"crash":"boom"},{"text":"ok"}]` fails once and
 * then succeeds. A call never takes a step before its round within the task (the assistant turns
 * since the last user message), so a durable tree's task resumed after a restart goes on where it
 * was. After the last step, the last one repeats. In `text`, `{{input}}` is replaced by the latest
 * user message, `{{system}}` by the system messages and `{{tool}}` by the latest tool result; in the strings of tool-call arguments
 * only `{{tool}}` is (so a spec handed to `spawn_agent` keeps its own `{{input}}`).
 *
 * It registers through the same port as the network providers and powers the offline demo, the
 * tests and the benchmarks.
 */
import { Effect, Either, Schema, Stream } from "effect";
import type { Problem } from "../../runtime/errors.ts";
import {
  type ChatMessage,
  type ModelProvider,
  type ModelRequest,
  type ModelResponse,
  type ModelStreamEvent,
  ProviderError,
} from "../../runtime/model.ts";
import { definePlugin } from "../../runtime/plugin.ts";
import { problemsOf } from "../../runtime/problems.ts";

const ScriptStep = Schema.Struct({
  text: Schema.optional(Schema.String),
  stream: Schema.optional(Schema.Array(Schema.String).pipe(Schema.minItems(1))),
  toolCalls: Schema.optional(
    Schema.Array(Schema.Struct({ name: Schema.String, args: Schema.optional(Schema.Unknown) })),
  ),
  error: Schema.optional(Schema.String),
  crash: Schema.optional(Schema.String),
  delayMs: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
});
type ScriptStep = Schema.Schema.Type<typeof ScriptStep>;

const Script = Schema.Array(ScriptStep).pipe(
  Schema.minItems(1, { message: () => "a script needs at least one step" }),
);
const Options = Schema.Struct({ script: Script });

const kinds = ["text", "stream", "toolCalls", "error", "crash"] as const;

/** Tool-call arguments with `{{tool}}` filled in every string, at any depth. */
const fillStrings = (value: unknown, fill: (template: string) => string): unknown =>
  typeof value === "string"
    ? fill(value)
    : Array.isArray(value)
      ? value.map((v) => fillStrings(v, fill))
      : typeof value === "object" && value !== null
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillStrings(v, fill)]))
        : value;

/** Validates the `model` options of a scripted agent; problems carry JSON paths below `path`. */
export const validateScript = (options: unknown, path: string): ReadonlyArray<Problem> => {
  const decoded = Schema.decodeUnknownEither(Options, { errors: "all", onExcessProperty: "error" })(options);
  if (Either.isLeft(decoded)) {
    return problemsOf(decoded.left, {
      root: path,
      schema: Options,
      unknownKey: "unknown field (scripted steps take text, stream, toolCalls, error, crash, delayMs)",
    });
  }
  return decoded.right.script.flatMap((step, i) => {
    const present = kinds.filter((k) => step[k] !== undefined);
    return present.length === 1
      ? []
      : [
          {
            path: `${path}.script[${i}]`,
            message: `a step needs exactly one of text, stream, toolCalls, error, crash (found ${present.length === 0 ? "none" : present.join(", ")})`,
          },
        ];
  });
};

const approxTokens = (text: string): number => Math.ceil(text.length / 4);

/** `effect` after `ms` (at once, without yielding, for 0: a scripted crash stays synchronous). */
const after = <A, E>(ms: number, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  ms > 0 ? Effect.zipRight(Effect.sleep(ms), effect) : effect;

/** A text template with `{{input}}` and `{{tool}}` filled in. */
const fill = (template: string, messages: ReadonlyArray<ChatMessage>): string =>
  !template.includes("{{")
    ? template
    : template
        .replaceAll("{{input}}", lastOf(messages, "user"))
        .replaceAll("{{system}}", systemOf(messages))
        .replaceAll("{{tool}}", lastOf(messages, "tool"));

const lastOf = (messages: ReadonlyArray<ChatMessage>, role: ChatMessage["role"]): string => {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === role) return messages[i]!.content;
  return "";
};

/**
 * Scripts decoded once per options object: a spec's model options are one object for all of its
 * agent's calls, so the script is checked when first used, not on every call.
 */
const decodedScripts = new WeakMap<object, ReadonlyArray<ScriptStep> | undefined>();
const scriptOf = (options: unknown): ReadonlyArray<ScriptStep> | undefined => {
  const key = typeof options === "object" && options !== null ? options : undefined;
  if (key !== undefined && decodedScripts.has(key)) return decodedScripts.get(key);
  const decoded = Schema.decodeUnknownEither(Options)(options ?? {});
  const script = Either.isRight(decoded) ? decoded.right.script : undefined;
  if (key !== undefined) decodedScripts.set(key, script);
  return script;
};

/** The model call's round within its task: assistant turns after the last user message. */
const roundOf = (messages: ReadonlyArray<ChatMessage>): number => {
  let rounds = 0;
  for (let i = messages.length - 1; i >= 0 && messages[i]!.role !== "user"; i--)
    if (messages[i]!.role === "assistant") rounds++;
  return rounds;
};

/** A whole answer as stream events: a text step's words, then its tool calls, then the finish. */
const eventsOf = (response: ModelResponse): ReadonlyArray<ModelStreamEvent> => [
  ...response.text
    .split(/(?<=\s)/)
    .filter((w) => w.length > 0)
    .map((text) => ({ type: "text-delta" as const, text })),
  ...response.toolCalls.map((call) => ({ type: "tool-call" as const, call })),
  { type: "finish", usage: response.usage, finishReason: response.finishReason },
];

/** Every system message, in order: what the model was told (instructions, recalled memory). */
const systemOf = (messages: ReadonlyArray<ChatMessage>): string =>
  messages
    .filter((m) => m.role === "system")
    .map((m) => m.content)
    .join("\n\n");

/** Makes a scripted provider with its own positions (one per runtime). */
export const makeScriptedProvider = (): ModelProvider & {
  readonly validate: typeof validateScript;
  /** Forgets every position (a new run of the same script). */
  readonly reset: () => void;
} => {
  const positions = new Map<string, number>();

  const next = (request: ModelRequest): Effect.Effect<{ step: ScriptStep; index: number }, ProviderError> =>
    Effect.suspend(() => {
      const script = scriptOf(request.options);
      if (script === undefined)
        return Effect.fail(
          new ProviderError({
            reason: "bad_request",
            provider: "scripted",
            retryable: false,
            detail: "model.script is missing or invalid",
          }),
        );
      // Never a step before the call's round within its task: a durable task resumed in a new
      // process (where positions start over) picks up at the step it was cut off at.
      const index = Math.max(positions.get(request.context.address) ?? 0, roundOf(request.messages));
      positions.set(request.context.address, index + 1);
      return Effect.succeed({ step: script[Math.min(index, script.length - 1)]!, index });
    });

  const generate = (request: ModelRequest): Effect.Effect<ModelResponse, ProviderError> =>
    Effect.flatMap(next(request), ({ step, index }) =>
      after((step.delayMs ?? 0) * (step.stream?.length ?? 1), answer(request, step, index)),
    );

  /** The step's answer, after its delay. */
  const answer = (
    request: ModelRequest,
    step: ScriptStep,
    index: number,
  ): Effect.Effect<ModelResponse, ProviderError> =>
    Effect.gen(function* () {
      if (step.crash !== undefined) return yield* Effect.die(new Error(step.crash));
      if (step.error !== undefined)
        return yield* new ProviderError({
          reason: "scripted",
          provider: "scripted",
          model: request.model,
          retryable: false,
          detail: step.error,
        });
      const toolResult = lastOf(request.messages, "tool");
      const text = fill(step.stream?.join("") ?? step.text ?? "", request.messages);
      const toolCalls = (step.toolCalls ?? []).map((call, i) => ({
        id: `call_${index}_${i}`,
        name: call.name,
        args: fillStrings(call.args ?? {}, (template) => template.replaceAll("{{tool}}", toolResult)),
      }));
      return {
        text,
        toolCalls,
        usage: {
          inputTokens: request.messages.reduce((sum, m) => sum + approxTokens(m.content), 0),
          outputTokens:
            approxTokens(text) + toolCalls.reduce((sum, c) => sum + approxTokens(JSON.stringify(c.args)), 0),
        },
        finishReason: toolCalls.length > 0 ? "tool_calls" : "stop",
        provider: "scripted",
        model: request.model,
      } satisfies ModelResponse;
    });

  return {
    name: "scripted",
    cacheable: false,
    validate: validateScript,
    reset: () => positions.clear(),
    generate,
    stream: (request) =>
      Stream.unwrap(
        Effect.map(next(request), ({ step, index }) => {
          if (step.stream === undefined)
            return Stream.flatMap(
              Stream.fromEffect(after(step.delayMs ?? 0, answer(request, step, index))),
              (response) => Stream.fromIterable(eventsOf(response)),
            );
          // One delta per piece, `delayMs` before each: what a client of a streaming step sees.
          const pieces = Stream.fromIterable(step.stream).pipe(
            Stream.mapEffect((piece) =>
              Effect.as(Effect.sleep(step.delayMs ?? 0), {
                type: "text-delta" as const,
                text: fill(piece, request.messages),
              }),
            ),
          );
          return Stream.concat(
            pieces,
            Stream.fromEffect(
              Effect.map(answer(request, step, index), (response) => ({
                type: "finish" as const,
                usage: response.usage,
                finishReason: response.finishReason,
              })),
            ),
          );
        }),
      ),
  };
};

/** The scripted provider as a plugin. */
export const scriptedPlugin = definePlugin({
  name: "scripted",
  version: "1.0.0",
  setup: (host) => host.registerProvider(makeScriptedProvider()),
});
