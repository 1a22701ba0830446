/**
 * A streaming ask on a network provider: an agent whose model is OpenAI (a local server speaking
 * the Chat Completions SSE wire format) asked with `stream: true` publishes `agent.delta` events
 * as the SSE chunks arrive, assembles a tool call sent as argument deltas, runs it, and answers the
 * deltas joined. The request to the provider is a streaming one.
 */
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { builtinHandlersPlugin } from "../../plugins/handlers/builtin.ts";
import { providersPlugin } from "../../plugins/providers/plugin.ts";
import { makeToolsPlugin } from "../../plugins/tools/plugin.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { useServers } from "./harness.ts";

const KEY = "sk-streaming-test-key-00000001";
const serve = useServers();

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: "chatcmpl-s",
  object: "chat.completion.chunk",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [{ index: 0, delta, finish_reason: finish }],
});
const usage = (input: number, output: number) => ({
  data: {
    ...chunk({}),
    choices: [],
    usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
  },
});

const words = [
  "Streaming answers arrive in pieces, ",
  "and the agent passes each piece on ",
  "as soon as the guardrails allow it, ",
  "so a person can read along while the model is still writing.",
];

describe("a streaming ask on the OpenAI wire format", () => {
  it("turns SSE chunks into agent.delta events, runs a tool call sent as deltas, and answers the deltas joined", async () => {
    const s = await serve((_req, index) =>
      index === 0
        ? {
            sse: [
              {
                data: chunk({
                  role: "assistant",
                  tool_calls: [
                    {
                      index: 0,
                      id: "call_1",
                      type: "function",
                      function: { name: "send_to_agent", arguments: '{"to":' },
                    },
                  ],
                }),
              },
              {
                data: chunk({
                  tool_calls: [{ index: 0, function: { arguments: '"helper","message":"hi"}' } }],
                }),
              },
              { data: chunk({}, "tool_calls") },
              usage(12, 6),
              { data: "[DONE]" },
            ],
          }
        : {
            sse: [
              ...words.map((w, i) => ({
                data: chunk(i === 0 ? { role: "assistant", content: w } : { content: w }),
              })),
              { data: chunk({}, "stop") },
              usage(30, 40),
              { data: "[DONE]" },
            ],
          },
    );
    const plugin = providersPlugin({ env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `${s.url}/v1` } });
    const deltas: Array<Extract<ArborEvent, { type: "agent.delta" }>> = [];
    const sent: string[] = [];
    const reply = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const system = yield* makeAgentSystem({
            plugins: [plugin, builtinHandlersPlugin, makeToolsPlugin()],
          });
          system.events.listen((e) => {
            if (e.type === "agent.delta") deltas.push(e);
            if (e.type === "tool.result") sent.push(`${e.tool} ${e.ok}`);
          });
          const tree = yield* system.spawnTree({
            name: "live",
            root: {
              name: "lead",
              kind: "parent",
              tools: { allow: ["send_to_agent"] },
              model: { provider: "openai", model: "gpt-4o-mini" },
              children: [{ name: "helper", kind: "micro", handler: "echo" }],
            },
          });
          return yield* system.ask(tree.root, "explain streaming", { stream: true, requestId: "r-live" });
        }),
      ),
    );
    expect(s.requests.map((r) => (r.body as { stream?: boolean }).stream)).toEqual([true, true]);
    expect(sent).toEqual(["send_to_agent true"]);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.every((d) => d.requestId === "r-live")).toBe(true);
    expect(deltas.map((d) => d.seq)).toEqual(deltas.map((_, i) => i));
    expect(deltas.map((d) => d.text).join("")).toBe(reply.output);
    expect(reply.output).toBe(words.join(""));
    expect(reply.usage).toEqual({ inputTokens: 42, outputTokens: 46 });
  });
});
