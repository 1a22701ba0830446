/**
 * Anthropic adapter against a local server speaking the Messages API (JSON and SSE).
 */
import { Chunk, Stream } from "effect";
import { describe, expect, it } from "vitest";
import { fingerprint } from "../../plugins/providers/errors.ts";
import { ctx, makeRig, prompt, run, runFailure, useServers } from "./harness.ts";
import type { WireServer } from "./wire-server.ts";

const KEY1 = "sk-ant-test-key-CCCC3333";
const KEY2 = "sk-ant-test-key-DDDD4444";
const serve = useServers();

const message = (content: ReadonlyArray<unknown>, stop = "end_turn") => ({
  id: "msg_1",
  type: "message",
  role: "assistant",
  model: "claude-3-5-haiku-latest",
  content,
  stop_reason: stop,
  stop_sequence: null,
  usage: { input_tokens: 20, output_tokens: 7 },
});

const rigFor = (s: WireServer, keys = KEY1) =>
  makeRig({}, { ANTHROPIC_API_KEYS: keys, ANTHROPIC_BASE_URL: `${s.url}/v1` });
const choice = { provider: "anthropic", model: "claude-3-5-haiku-latest" };

describe("Anthropic adapter", () => {
  it("sends a Messages request with the system prompt, temperature and max tokens", async () => {
    const s = await serve(() => ({ json: message([{ type: "text", text: "Hi!" }]) }));
    const res = await run(
      rigFor(s).router.generate({ ...choice, temperature: 0.5, maxTokens: 100 }, prompt("Hello")),
    );
    expect(res).toMatchObject({
      text: "Hi!",
      usage: { inputTokens: 20, outputTokens: 7 },
      finishReason: "stop",
    });
    const req = s.requests[0]!;
    expect(req.path).toBe("/v1/messages");
    expect(req.headers["x-api-key"]).toBe(KEY1);
    expect(req.headers["anthropic-version"]).toBe("2023-06-01");
    expect(req.body).toMatchObject({
      model: "claude-3-5-haiku-latest",
      max_tokens: 100,
      temperature: 0.5,
      system: [{ type: "text", text: "You are terse." }],
      messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }],
    });
  });

  it("round-trips tool_use and tool_result blocks", async () => {
    const s = await serve((_r, i) =>
      i === 0
        ? {
            json: message(
              [
                { type: "text", text: "Let me look." },
                { type: "tool_use", id: "toolu_1", name: "search", input: { q: "arbor" } },
              ],
              "tool_use",
            ),
          }
        : { json: message([{ type: "text", text: "Found it." }]) },
    );
    const { router } = rigFor(s);
    const tools = [
      {
        name: "search",
        description: "Search",
        inputSchema: { type: "object", properties: { q: { type: "string" } } },
      },
    ];
    const first = await run(router.generate(choice, { ...prompt("Find arbor"), tools }));
    expect(first).toMatchObject({
      text: "Let me look.",
      finishReason: "tool_calls",
      toolCalls: [{ id: "toolu_1", name: "search", args: { q: "arbor" } }],
    });
    expect(s.requests[0]!.body).toMatchObject({
      tools: [{ name: "search", description: "Search", input_schema: { type: "object" } }],
    });
    await run(
      router.generate(choice, {
        context: ctx,
        tools,
        messages: [
          { role: "user", content: "Find arbor" },
          { role: "assistant", content: "Let me look.", toolCalls: first.toolCalls },
          { role: "tool", toolCallId: "toolu_1", name: "search", content: "arbor is a runtime" },
        ],
      }),
    );
    const sent = s.requests[1]!.body as {
      messages: Array<{ role: string; content: Array<Record<string, unknown>> }>;
    };
    expect(sent.messages[1]!.content).toContainEqual(
      expect.objectContaining({ type: "tool_use", id: "toolu_1", name: "search", input: { q: "arbor" } }),
    );
    expect(sent.messages[2]).toMatchObject({
      role: "user",
      content: [expect.objectContaining({ type: "tool_result", tool_use_id: "toolu_1" })],
    });
  });

  it("streams text and tool input deltas over SSE", async () => {
    const s = await serve(() => ({
      sse: [
        {
          event: "message_start",
          data: {
            type: "message_start",
            message: { ...message([]), stop_reason: null, usage: { input_tokens: 11, output_tokens: 1 } },
          },
        },
        {
          event: "content_block_start",
          data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
        },
        {
          event: "content_block_delta",
          data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Sea" } },
        },
        {
          event: "content_block_delta",
          data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "rching" } },
        },
        { event: "content_block_stop", data: { type: "content_block_stop", index: 0 } },
        {
          event: "content_block_start",
          data: {
            type: "content_block_start",
            index: 1,
            content_block: { type: "tool_use", id: "toolu_2", name: "search", input: {} },
          },
        },
        {
          event: "content_block_delta",
          data: {
            type: "content_block_delta",
            index: 1,
            delta: { type: "input_json_delta", partial_json: '{"q":' },
          },
        },
        {
          event: "content_block_delta",
          data: {
            type: "content_block_delta",
            index: 1,
            delta: { type: "input_json_delta", partial_json: '"trees"}' },
          },
        },
        { event: "content_block_stop", data: { type: "content_block_stop", index: 1 } },
        {
          event: "message_delta",
          data: {
            type: "message_delta",
            delta: { stop_reason: "tool_use", stop_sequence: null },
            usage: { output_tokens: 15 },
          },
        },
        { event: "message_stop", data: { type: "message_stop" } },
      ],
    }));
    const events = Chunk.toReadonlyArray(
      await run(Stream.runCollect(rigFor(s).router.stream(choice, prompt("Go")))),
    );
    const text = events.flatMap((e) => (e.type === "text-delta" ? [e.text] : []));
    expect(text).toEqual(["Sea", "rching"]);
    const args = events.flatMap((e) => (e.type === "tool-call-delta" ? [e.argsDelta] : [])).join("");
    expect(args).toBe('{"q":"trees"}');
    expect(events).toContainEqual({
      type: "tool-call",
      call: { id: "toolu_2", name: "search", args: { q: "trees" } },
    });
    expect(events[events.length - 1]).toMatchObject({
      type: "finish",
      finishReason: "tool_calls",
      usage: { inputTokens: 11, outputTokens: 15 },
    });
    expect(s.requests[0]!.body).toMatchObject({ stream: true });
  });

  it("rotates keys on 429 rate_limit_error and never shows a key", async () => {
    const s = await serve((req) =>
      req.headers["x-api-key"] === KEY1
        ? {
            status: 429,
            headers: { "retry-after": "12" },
            json: {
              type: "error",
              error: { type: "rate_limit_error", message: "Number of requests has exceeded your rate limit" },
            },
          }
        : { json: message([{ type: "text", text: "second key" }]) },
    );
    const { router, events } = rigFor(s, `${KEY1},${KEY2}`);
    const res = await run(router.generate(choice, prompt("Hi")));
    expect(res.text).toBe("second key");
    expect(events.find((e) => e.type === "key.cooldown")).toMatchObject({
      key: fingerprint(KEY1),
      untilMs: 12_000,
    });
    expect(JSON.stringify(events)).not.toContain(KEY1);
  });

  it("treats 529 overloaded as a retryable server error and 401 as auth", async () => {
    const s = await serve((_r, i) =>
      i === 0
        ? { status: 529, json: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } } }
        : {
            status: 401,
            json: { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } },
          },
    );
    const { router } = rigFor(s);
    expect(await runFailure(router.generate(choice, prompt("Hi")))).toMatchObject({
      reason: "server",
      retryable: true,
      status: 529,
    });
    const auth = await runFailure(router.generate(choice, prompt("Hi")));
    expect(auth).toMatchObject({ reason: "auth", retryable: false });
    expect(auth.message).toContain("invalid x-api-key");
  });

  it("reports a body without content as malformed", async () => {
    const s = await serve(() => ({ json: { type: "message", id: "x" } }));
    expect(await runFailure(rigFor(s).router.generate(choice, prompt("Hi")))).toMatchObject({
      reason: "malformed_response",
    });
  });
});
