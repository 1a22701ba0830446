/**
 * The model every arm uses: zero latency, in process, the same logic in each framework's model
 * interface. After a tool result it answers with it; asked to "lookup …" with tools offered it
 * calls `lookup`; otherwise it echoes the last user message. Usage is a fixed 10 + 5 tokens.
 */

/** A message as the fake model reads it, whatever framework it came from. */
export interface FakeMessage {
  readonly role: "system" | "user" | "assistant" | "tool";
  readonly content: string;
}

/** What the fake model answers: text, or one call of the `lookup` tool. */
export type FakeAnswer =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "tool"; readonly name: "lookup"; readonly args: { readonly q: string } };

/** The fake model's whole logic. */
export const fakeAnswer = (messages: ReadonlyArray<FakeMessage>, toolsOffered: boolean): FakeAnswer => {
  const last = messages[messages.length - 1];
  if (last?.role === "tool") return { kind: "text", text: `answer: ${last.content}` };
  let user = "";
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === "user") {
      user = messages[i]!.content;
      break;
    }
  }
  if (toolsOffered && user.startsWith("lookup "))
    return { kind: "tool", name: "lookup", args: { q: user.slice(7) } };
  return { kind: "text", text: `echo: ${user}` };
};

/** The tool of W2, the same function in every arm. */
export const lookup = (q: string): string => `found ${q}`;

/** The cheap worker of W4: what a handler micro agent, a one-node graph and a function tool run. */
export const upper = (text: string): string => text.toUpperCase();

/** Token usage every fake answer reports. */
export const fakeUsage = { inputTokens: 10, outputTokens: 5 } as const;
