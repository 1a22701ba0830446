/**
 * A `ProviderDriver` over an AI SDK provider package, used at the LanguageModel level
 * (`doGenerate`/`doStream`/`doEmbed`): the package speaks the vendor's wire format, Arbor keeps
 * retries, rotation and fallback (the LanguageModel level has no retries of its own).
 */
import type {
  EmbeddingModelV3,
  LanguageModelV3,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
} from "@ai-sdk/provider";
import { Clock, Duration, Effect, Stream } from "effect";
import { ProviderError } from "../../runtime/model.ts";
import { fromContent, makeStreamMapper, toCallOptions, toFinishReason, toUsage } from "./ai-sdk-convert.ts";
import type { ProviderDriver } from "./driver.ts";
import { toProviderError } from "./errors.ts";

/** The models one AI SDK provider instance (made for one key) offers. */
export interface AiSdkModels {
  readonly chat: (model: string) => LanguageModelV3;
  readonly embedding?: (model: string) => EmbeddingModelV3;
}

/** Settings of an AI SDK driver. `make` builds a provider instance for one key (cached per key). */
export interface AiSdkDriverOptions {
  readonly name: string;
  readonly make: (secret: string | undefined) => AiSdkModels;
  readonly timeoutMs: number;
  /** Whether the provider offers embeddings (OpenAI, Google). */
  readonly embeddings: boolean;
}

/** Runs one provider call: AbortSignal on interruption, timeout on Effect's Clock, errors typed and scrubbed. */
const call = <A>(
  provider: string,
  model: string,
  secret: string | undefined,
  timeoutMs: number,
  run: (signal: AbortSignal) => PromiseLike<A>,
): Effect.Effect<A, ProviderError> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.tryPromise({
      try: (signal) => Promise.resolve(run(signal)),
      catch: (error) => toProviderError(error, { provider, model, secrets: secret ? [secret] : [] }, now),
    }),
  ).pipe(
    Effect.timeoutFail({
      duration: Duration.millis(timeoutMs),
      onTimeout: () =>
        new ProviderError({
          provider,
          model,
          reason: "timeout",
          retryable: true,
          detail: `no answer within ${timeoutMs} ms`,
        }),
    }),
  );

/**
 * An answer with no content and no finish reason at all is not an answer but a body the provider
 * package could not make sense of (its schemas are lenient). Undefined when the answer is fine.
 * Gotcha: a prompt the provider blocked is an answer, with `finishReason: "content_filter"`.
 */
const emptyAnswer = (
  provider: string,
  model: string,
  result: LanguageModelV3GenerateResult,
): ProviderError | undefined =>
  result.content.length > 0 || result.finishReason.raw !== undefined
    ? undefined
    : new ProviderError({
        provider,
        model,
        reason: "malformed_response",
        retryable: false,
        detail: "the answer has neither content nor a finish reason",
      });

/** Makes a driver over an AI SDK provider package. */
export const makeAiSdkDriver = (options: AiSdkDriverOptions): ProviderDriver => {
  const { name, timeoutMs } = options;
  const instances = new Map<string, AiSdkModels>();
  const chatModels = new Map<string, LanguageModelV3>();
  const instance = (secret: string | undefined): AiSdkModels => {
    const id = secret ?? "";
    let found = instances.get(id);
    if (!found) {
      found = options.make(secret);
      instances.set(id, found);
    }
    return found;
  };
  const chat = (secret: string | undefined, model: string): LanguageModelV3 => {
    const id = `${secret ?? ""}\u0000${model}`;
    let found = chatModels.get(id);
    if (!found) {
      found = instance(secret).chat(model);
      chatModels.set(id, found);
    }
    return found;
  };

  return {
    name,
    generate: (secret, request) =>
      Effect.flatMap(
        call(name, request.model, secret, timeoutMs, (signal) =>
          chat(secret, request.model).doGenerate(toCallOptions(request, signal)),
        ),
        (result) => {
          const empty = emptyAnswer(name, request.model, result);
          return empty
            ? Effect.fail(empty)
            : Effect.succeed({
                ...fromContent(result.content),
                usage: toUsage(result.usage),
                finishReason: toFinishReason(result.finishReason),
                provider: name,
                model: request.model,
              });
        },
      ),
    stream: (secret, request) =>
      Effect.map(
        call(name, request.model, secret, timeoutMs, (signal) =>
          chat(secret, request.model).doStream(toCallOptions(request, signal)),
        ),
        (opened) => {
          const secrets = secret ? [secret] : [];
          const fail = (error: unknown) =>
            toProviderError(error, { provider: name, model: request.model, secrets }, Date.now());
          const map = makeStreamMapper();
          return Stream.fromReadableStream<LanguageModelV3StreamPart, ProviderError>({
            evaluate: () => opened.stream,
            onError: fail,
          }).pipe(
            Stream.mapConcatEffect((part) => {
              const events = map(part);
              return "error" in events ? Effect.fail(fail(events.error)) : Effect.succeed(events);
            }),
          );
        },
      ),
    ...(options.embeddings
      ? {
          embed: (secret, request) =>
            Effect.flatMap(
              Effect.try({
                try: () => instance(secret).embedding?.(request.model),
                catch: (error) =>
                  toProviderError(error, { provider: name, model: request.model, secrets: [] }, 0),
              }),
              (model) =>
                model === undefined
                  ? Effect.fail(
                      new ProviderError({
                        provider: name,
                        model: request.model,
                        reason: "bad_request",
                        retryable: false,
                        detail: `${name} offers no embeddings`,
                      }),
                    )
                  : Effect.map(
                      call(name, request.model, secret, timeoutMs, (signal) =>
                        model.doEmbed({ values: [...request.inputs], abortSignal: signal }),
                      ),
                      (result) => ({
                        vectors: result.embeddings,
                        usage: { inputTokens: result.usage?.tokens ?? 0, outputTokens: 0 },
                        model: request.model,
                      }),
                    ),
            ),
        }
      : {}),
  } satisfies ProviderDriver;
};
