/**
 * A streaming model call gathered into one response: text deltas go to the step's delta writer as
 * they arrive; tool calls and the finish are collected. Tool calls that arrive only as argument
 * deltas are assembled by id.
 */
import { Effect, Stream } from "effect";
import type { ModelResponse, ModelStreamEvent, ProviderError, ToolCall } from "../model.ts";
import type { DeltaWriter } from "./deltas.ts";

interface Partial {
  name: string;
  args: string;
}

const parsed = (text: string): unknown => {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    return text; // the tool runner reports arguments that are not an object to the model
  }
};

/** Runs the stream to its end and returns what a `generate` call would have. */
export const streamedResponse = (
  events: Stream.Stream<ModelStreamEvent, ProviderError>,
  deltas: DeltaWriter,
): Effect.Effect<ModelResponse, ProviderError> =>
  Effect.gen(function* () {
    let text = "";
    const calls: ToolCall[] = [];
    const partial = new Map<string, Partial>();
    let finish: Extract<ModelStreamEvent, { type: "finish" }> | undefined;
    yield* Stream.runForEach(events, (event) => {
      switch (event.type) {
        case "text-delta":
          text += event.text;
          return deltas.push(event.text);
        case "tool-call":
          calls.push(event.call);
          partial.delete(event.call.id);
          return Effect.void;
        case "tool-call-delta": {
          const known = partial.get(event.id) ?? { name: "", args: "" };
          if (event.name !== undefined) known.name = event.name;
          known.args += event.argsDelta;
          partial.set(event.id, known);
          return Effect.void;
        }
        case "finish":
          finish = event;
          return Effect.void;
      }
    });
    for (const [id, call] of partial) calls.push({ id, name: call.name, args: parsed(call.args) });
    return {
      text,
      toolCalls: calls,
      usage: finish?.usage ?? { inputTokens: 0, outputTokens: 0 },
      finishReason: finish?.finishReason ?? (calls.length > 0 ? "tool_calls" : "stop"),
      // The router names the provider on `provider.call`; a stream does not repeat it here.
      provider: "",
      model: "",
    };
  });
