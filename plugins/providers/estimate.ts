/**
 * Estimates of a call made before it is sent: tokens (for per-key `tpm` limits) and cost (for
 * budget reservations). Input tokens are counted as characters / 4 over the messages and tool
 * definitions; output tokens are the request's `maxTokens`, else `DEFAULT_OUTPUT_TOKENS`.
 *
 * Gotcha: an estimate, not a tokenizer: a budget can be overshot by one call's estimate error.
 */
import type { ChatMessage, ToolSpec } from "../../runtime/model.ts";

/** Output tokens assumed when a request sets no `maxTokens`. */
export const DEFAULT_OUTPUT_TOKENS = 512;

/** Estimated tokens of one call. */
export interface TokenEstimate {
  readonly input: number;
  readonly output: number;
}

/** Characters of a tool list's JSON, by list: an agent offers the same list step after step. */
const toolChars = new WeakMap<ReadonlyArray<ToolSpec>, number>();
const charsOfTools = (tools: ReadonlyArray<ToolSpec>): number => {
  let chars = toolChars.get(tools);
  if (chars === undefined) {
    chars = JSON.stringify(tools).length;
    toolChars.set(tools, chars);
  }
  return chars;
};

/** Estimates a chat request's tokens: its messages, the tools it offers, and its `maxTokens`. */
export const estimateTokens = (
  messages: ReadonlyArray<ChatMessage>,
  tools?: ReadonlyArray<ToolSpec>,
  maxTokens?: number,
): TokenEstimate => {
  let chars = 0;
  for (const m of messages) chars += m.content.length + 4;
  if (tools) chars += charsOfTools(tools);
  return { input: Math.ceil(chars / 4), output: maxTokens ?? DEFAULT_OUTPUT_TOKENS };
};

/** Estimates an embedding request's tokens (no output). */
export const estimateEmbedTokens = (inputs: ReadonlyArray<string>): TokenEstimate => ({
  input: Math.ceil(inputs.reduce((sum, text) => sum + text.length, 0) / 4),
  output: 0,
});
