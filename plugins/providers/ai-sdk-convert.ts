/**
 * Translation between Arbor's normalized chat format and the AI SDK's LanguageModel (spec v3, the AI SDK 6 provider packages, which support Node 20)
 * format: prompts and tools in, content, usage and stream parts out.
 */
import type {
  JSONSchema7,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3Message,
  LanguageModelV3StreamPart,
  LanguageModelV3ToolResultPart,
  LanguageModelV3Usage,
} from "@ai-sdk/provider";
import type { ModelRequest, ModelResponse, ModelStreamEvent, ToolCall, Usage } from "../../runtime/model.ts";

/** Parses a tool call's JSON arguments; a model that produced invalid JSON gets its raw text back. */
export const parseArgs = (input: string): unknown => {
  if (input.trim() === "") return {};
  try {
    return JSON.parse(input);
  } catch {
    return input;
  }
};

/** Arbor messages → AI SDK prompt. Consecutive tool results are grouped into one tool message. */
export const toPrompt = (messages: ModelRequest["messages"]): Array<LanguageModelV3Message> => {
  const prompt: Array<LanguageModelV3Message> = [];
  for (const m of messages) {
    switch (m.role) {
      case "system":
        prompt.push({ role: "system", content: m.content });
        break;
      case "user":
        prompt.push({ role: "user", content: [{ type: "text", text: m.content }] });
        break;
      case "assistant":
        prompt.push({
          role: "assistant",
          content: [
            ...(m.content ? [{ type: "text" as const, text: m.content }] : []),
            ...(m.toolCalls ?? []).map((c) => ({
              type: "tool-call" as const,
              toolCallId: c.id,
              toolName: c.name,
              input: c.args,
            })),
          ],
        });
        break;
      case "tool": {
        const part: LanguageModelV3ToolResultPart = {
          type: "tool-result",
          toolCallId: m.toolCallId,
          toolName: m.name,
          output: { type: "text", value: m.content },
        };
        const last = prompt[prompt.length - 1];
        if (last?.role === "tool") last.content.push(part);
        else prompt.push({ role: "tool", content: [part] });
        break;
      }
    }
  }
  return prompt;
};

/** The call options for one request. `options.topP` and `options.stop` pass through. */
export const toCallOptions = (
  request: ModelRequest,
  abortSignal?: AbortSignal,
): LanguageModelV3CallOptions => {
  const o = request.options ?? {};
  return {
    prompt: toPrompt(request.messages),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.maxTokens !== undefined ? { maxOutputTokens: request.maxTokens } : {}),
    ...(typeof o.topP === "number" ? { topP: o.topP } : {}),
    ...(Array.isArray(o.stop)
      ? { stopSequences: o.stop.filter((s): s is string => typeof s === "string") }
      : {}),
    ...(request.tools && request.tools.length > 0
      ? {
          tools: request.tools.map((t) => ({
            type: "function" as const,
            name: t.name,
            description: t.description,
            inputSchema: t.inputSchema as JSONSchema7,
          })),
        }
      : {}),
    ...(abortSignal ? { abortSignal } : {}),
  };
};

/** AI SDK usage → Arbor usage (missing counts are 0). */
export const toUsage = (usage: LanguageModelV3Usage | undefined): Usage => ({
  inputTokens: usage?.inputTokens.total ?? 0,
  outputTokens: usage?.outputTokens.total ?? 0,
});

/** AI SDK finish reason → Arbor finish reason. */
export const toFinishReason = (
  reason: LanguageModelV3FinishReason | undefined,
): ModelResponse["finishReason"] => {
  switch (reason?.unified) {
    case "stop":
      return "stop";
    case "length":
      return "length";
    case "tool-calls":
      return "tool_calls";
    case "content-filter":
      return "content_filter";
    default:
      return "other";
  }
};

/** Collects text and client-side tool calls from generated content. */
export const fromContent = (
  content: ReadonlyArray<LanguageModelV3Content>,
): { readonly text: string; readonly toolCalls: ReadonlyArray<ToolCall> } => {
  let text = "";
  const toolCalls: Array<ToolCall> = [];
  for (const part of content) {
    if (part.type === "text") text += part.text;
    else if (part.type === "tool-call" && !part.providerExecuted)
      toolCalls.push({ id: part.toolCallId, name: part.toolName, args: parseArgs(part.input) });
  }
  return { text, toolCalls };
};

/**
 * A stateful mapper from AI SDK stream parts to Arbor stream events. Returns the events for one
 * part, or an `error` holding what the provider reported mid-stream.
 */
export const makeStreamMapper = () => {
  const names = new Map<string, string>();
  const named = new Set<string>();
  return (part: LanguageModelV3StreamPart): ReadonlyArray<ModelStreamEvent> | { readonly error: unknown } => {
    switch (part.type) {
      case "text-delta":
        return part.delta ? [{ type: "text-delta", text: part.delta }] : [];
      case "tool-input-start":
        names.set(part.id, part.toolName);
        return [];
      case "tool-input-delta": {
        const first = !named.has(part.id);
        named.add(part.id);
        const name = names.get(part.id);
        return [
          {
            type: "tool-call-delta",
            id: part.id,
            ...(first && name ? { name } : {}),
            argsDelta: part.delta,
          },
        ];
      }
      case "tool-call":
        if (part.providerExecuted) return [];
        return [
          {
            type: "tool-call",
            call: { id: part.toolCallId, name: part.toolName, args: parseArgs(part.input) },
          },
        ];
      case "finish":
        return [
          { type: "finish", usage: toUsage(part.usage), finishReason: toFinishReason(part.finishReason) },
        ];
      case "error":
        return { error: part.error };
      default:
        return [];
    }
  };
};
