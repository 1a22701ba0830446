/**
 * Vendors accept tool names matching `^[a-zA-Z0-9_-]{1,64}$` (OpenAI, Anthropic, Gemini and the
 * OpenAI-compatible ones), but Arbor namespaces tools with dots (`mcp.everything.echo`,
 * `memory.search`). Every driver is wrapped so that names go out in a safe form and tool calls
 * come back under their real names; names that are already safe are sent unchanged.
 */
import { Effect, Stream } from "effect";
import type { ChatMessage, ModelRequest, ModelStreamEvent, ToolCall } from "../../runtime/model.ts";
import type { ProviderDriver } from "./driver.ts";

const safe = /^[A-Za-z0-9_-]{1,64}$/;

/** A two-way mapping between real and wire names for the tools of one request. */
export interface ToolNameCodec {
  readonly wire: (name: string) => string;
  readonly real: (wire: string) => string;
}

/** Builds the codec for a set of names, or undefined when every name is already safe. */
export const toolNameCodec = (names: Iterable<string>): ToolNameCodec | undefined => {
  const all = [...new Set(names)];
  if (all.every((n) => safe.test(n))) return undefined;
  const toWire = new Map<string, string>();
  const toReal = new Map<string, string>();
  const taken = new Set(all.filter((n) => safe.test(n)));
  for (const name of all) {
    if (safe.test(name)) {
      toWire.set(name, name);
      toReal.set(name, name);
      continue;
    }
    const base = name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 58) || "tool";
    let wire = base;
    for (let n = 2; taken.has(wire); n++) wire = `${base}_${n}`;
    taken.add(wire);
    toWire.set(name, wire);
    toReal.set(wire, name);
  }
  return { wire: (n) => toWire.get(n) ?? n, real: (w) => toReal.get(w) ?? w };
};

const namesIn = (request: ModelRequest): string[] => [
  ...(request.tools ?? []).map((t) => t.name),
  ...request.messages.flatMap((m) =>
    m.role === "assistant" ? (m.toolCalls ?? []).map((c) => c.name) : m.role === "tool" ? [m.name] : [],
  ),
];

const encode = (request: ModelRequest, codec: ToolNameCodec): ModelRequest => ({
  ...request,
  ...(request.tools ? { tools: request.tools.map((t) => ({ ...t, name: codec.wire(t.name) })) } : {}),
  messages: request.messages.map((m): ChatMessage => {
    if (m.role === "tool") return { ...m, name: codec.wire(m.name) };
    if (m.role === "assistant" && m.toolCalls)
      return { ...m, toolCalls: m.toolCalls.map((c) => ({ ...c, name: codec.wire(c.name) })) };
    return m;
  }),
});

const decodeCall = (call: ToolCall, codec: ToolNameCodec): ToolCall => ({
  ...call,
  name: codec.real(call.name),
});

const decodeEvent = (event: ModelStreamEvent, codec: ToolNameCodec): ModelStreamEvent => {
  if (event.type === "tool-call") return { ...event, call: decodeCall(event.call, codec) };
  if (event.type === "tool-call-delta" && event.name !== undefined)
    return { ...event, name: codec.real(event.name) };
  return event;
};

/** Wraps a driver so tool names are always acceptable to the vendor. */
export const withSafeToolNames = (driver: ProviderDriver): ProviderDriver => ({
  ...driver,
  generate: (secret, request) => {
    const codec = toolNameCodec(namesIn(request));
    if (!codec) return driver.generate(secret, request);
    return Effect.map(driver.generate(secret, encode(request, codec)), (response) => ({
      ...response,
      toolCalls: response.toolCalls.map((c) => decodeCall(c, codec)),
    }));
  },
  stream: (secret, request) => {
    const codec = toolNameCodec(namesIn(request));
    if (!codec) return driver.stream(secret, request);
    return Effect.map(driver.stream(secret, encode(request, codec)), (stream) =>
      Stream.map(stream, (event) => decodeEvent(event, codec)),
    );
  },
});
