/**
 * The Ollama driver, hand-written over `fetch`: `/api/chat` (JSON, or NDJSON when streaming) and
 * `/api/embed`. Hand-written because the community AI SDK provider for Ollama pulls in the whole
 * `ai` package as a peer, and Ollama's native format is small and documented.
 *
 * Gotcha: Ollama does not number tool calls; ids are made up here (`ollama_call_<n>`) so the
 * agent can pair results with calls.
 */
import { Clock, Duration, Effect, Either, Schema, Stream } from "effect";
import {
  type ModelRequest,
  type ModelResponse,
  type ModelStreamEvent,
  ProviderError,
} from "../../runtime/model.ts";
import type { ProviderDriver } from "./driver.ts";
import { errorForStatus, toProviderError } from "./errors.ts";

const ToolCallWire = Schema.Struct({
  id: Schema.optional(Schema.String),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.optional(Schema.Unknown) }),
});
const ChatChunk = Schema.Struct({
  model: Schema.optional(Schema.String),
  message: Schema.optional(
    Schema.Struct({
      role: Schema.optional(Schema.String),
      content: Schema.optional(Schema.String),
      tool_calls: Schema.optional(Schema.Array(ToolCallWire)),
    }),
  ),
  done: Schema.optional(Schema.Boolean),
  done_reason: Schema.optional(Schema.String),
  prompt_eval_count: Schema.optional(Schema.Number),
  eval_count: Schema.optional(Schema.Number),
  error: Schema.optional(Schema.String),
});
type ChatChunk = typeof ChatChunk.Type;
const EmbedAnswer = Schema.Struct({
  embeddings: Schema.Array(Schema.Array(Schema.Number)),
  prompt_eval_count: Schema.optional(Schema.Number),
});
const decodeChunk = Schema.decodeUnknownEither(ChatChunk);
const decodeEmbed = Schema.decodeUnknownEither(EmbedAnswer);

/** Arbor request → Ollama `/api/chat` body. */
const toBody = (request: ModelRequest, stream: boolean) => ({
  model: request.model,
  stream,
  messages: request.messages.map((m) => {
    switch (m.role) {
      case "assistant":
        return {
          role: "assistant",
          content: m.content,
          ...(m.toolCalls?.length
            ? { tool_calls: m.toolCalls.map((c) => ({ function: { name: c.name, arguments: c.args } })) }
            : {}),
        };
      case "tool":
        return { role: "tool", content: m.content, tool_name: m.name };
      default:
        return { role: m.role, content: m.content };
    }
  }),
  ...(request.tools?.length
    ? {
        tools: request.tools.map((t) => ({
          type: "function",
          function: { name: t.name, description: t.description, parameters: t.inputSchema },
        })),
      }
    : {}),
  options: {
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.maxTokens !== undefined ? { num_predict: request.maxTokens } : {}),
  },
});

const finishReason = (chunk: ChatChunk, sawTools: boolean): ModelResponse["finishReason"] =>
  sawTools ? "tool_calls" : chunk.done_reason === "length" ? "length" : "stop";

/** Makes the Ollama driver for one base URL (`OLLAMA_BASE_URL`, e.g. `http://127.0.0.1:11434`). */
export const makeOllamaDriver = (options: {
  readonly baseUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}): ProviderDriver => {
  const name = "ollama";
  const base = options.baseUrl.replace(/\/+$/, "").replace(/\/api$/, "");
  let callIds = 0;
  const malformed = (model: string, detail: string) =>
    new ProviderError({ provider: name, model, reason: "malformed_response", retryable: false, detail });

  /** POSTs JSON; fails typed on a non-2xx answer; succeeds with the Response. */
  const post = (path: string, model: string, body: unknown) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.tryPromise({
        try: async (signal) => {
          const res = await fetch(`${base}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json", ...options.headers },
            body: JSON.stringify(body),
            signal,
          });
          if (res.ok) return res;
          const text = await res.text().catch(() => "");
          let message = text.slice(0, 200);
          try {
            const parsed: unknown = JSON.parse(text);
            if (
              parsed &&
              typeof parsed === "object" &&
              typeof (parsed as { error?: unknown }).error === "string"
            )
              message = (parsed as { error: string }).error;
          } catch {}
          throw errorForStatus({ provider: name, model, status: res.status, message, secrets: [] });
        },
        catch: (error) => toProviderError(error, { provider: name, model, secrets: [] }, now),
      }),
    ).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(options.timeoutMs),
        onTimeout: () =>
          new ProviderError({
            provider: name,
            model,
            reason: "timeout",
            retryable: true,
            detail: `no answer within ${options.timeoutMs} ms`,
          }),
      }),
    );

  const readJson = (res: Response, model: string) =>
    Effect.tryPromise({
      try: () => res.json() as Promise<unknown>,
      catch: () => malformed(model, "the answer is not JSON"),
    });

  const toolCalls = (chunk: ChatChunk) =>
    (chunk.message?.tool_calls ?? []).map((c) => ({
      id: c.id ?? `ollama_call_${++callIds}`,
      name: c.function.name,
      args: c.function.arguments ?? {},
    }));

  return {
    name,
    generate: (_secret, request) =>
      Effect.gen(function* () {
        const res = yield* post("/api/chat", request.model, toBody(request, false));
        const decoded = decodeChunk(yield* readJson(res, request.model));
        if (Either.isLeft(decoded) || decoded.right.message === undefined)
          return yield* malformed(request.model, "the answer has no `message`");
        const chunk = decoded.right;
        const calls = toolCalls(chunk);
        return {
          text: chunk.message?.content ?? "",
          toolCalls: calls,
          usage: { inputTokens: chunk.prompt_eval_count ?? 0, outputTokens: chunk.eval_count ?? 0 },
          finishReason: finishReason(chunk, calls.length > 0),
          provider: name,
          model: request.model,
        } satisfies ModelResponse;
      }),
    stream: (_secret, request) =>
      Effect.map(post("/api/chat", request.model, toBody(request, true)), (res) => {
        let sawTools = false;
        const body = res.body;
        if (!body) return Stream.fail(malformed(request.model, "empty stream"));
        return Stream.fromReadableStream<Uint8Array, ProviderError>({
          evaluate: () => body,
          onError: (error) =>
            toProviderError(error, { provider: name, model: request.model, secrets: [] }, 0),
        }).pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.filter((line) => line.trim() !== ""),
          Stream.mapConcatEffect((line) => {
            let json: unknown;
            try {
              json = JSON.parse(line);
            } catch {
              return Effect.fail(malformed(request.model, "a stream line is not JSON"));
            }
            const decoded = decodeChunk(json);
            if (Either.isLeft(decoded))
              return Effect.fail(malformed(request.model, "unexpected stream line"));
            const chunk = decoded.right;
            if (chunk.error) return Effect.fail(malformed(request.model, chunk.error));
            const events: Array<ModelStreamEvent> = [];
            if (chunk.message?.content) events.push({ type: "text-delta", text: chunk.message.content });
            for (const call of toolCalls(chunk)) {
              sawTools = true;
              events.push({ type: "tool-call", call });
            }
            if (chunk.done)
              events.push({
                type: "finish",
                usage: { inputTokens: chunk.prompt_eval_count ?? 0, outputTokens: chunk.eval_count ?? 0 },
                finishReason: finishReason(chunk, sawTools),
              });
            return Effect.succeed(events);
          }),
        );
      }),
    embed: (_secret, request) =>
      Effect.gen(function* () {
        const res = yield* post("/api/embed", request.model, { model: request.model, input: request.inputs });
        const decoded = decodeEmbed(yield* readJson(res, request.model));
        if (Either.isLeft(decoded)) return yield* malformed(request.model, "the answer has no `embeddings`");
        return {
          vectors: decoded.right.embeddings,
          usage: { inputTokens: decoded.right.prompt_eval_count ?? 0, outputTokens: 0 },
          model: request.model,
        };
      }),
  };
};
