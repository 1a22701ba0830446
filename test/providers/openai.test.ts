/**
 * OpenAI adapter against a local server speaking the chat-completions wire format: requests sent,
 * normalized answers, tool-call round trips, SSE streaming, embeddings, 429 rotation with
 * Retry-After, 5xx fallback, 401 without retry, malformed bodies, keys never shown.
 */
import { Chunk, Effect, Stream, TestClock } from "effect";
import { describe, expect, it } from "vitest";
import { fingerprint } from "../../plugins/providers/errors.ts";
import { providersStatus } from "../../plugins/providers/status.ts";
import { ProviderError } from "../../runtime/model.ts";
import { ctx, makeRig, prompt, run, runFailure, useServers } from "./harness.ts";
import type { Reply, WireServer } from "./wire-server.ts";

const KEY1 = "sk-test-openai-key-AAAA1111";
const KEY2 = "sk-test-openai-key-BBBB2222";

const completion = (content: string | null, extra: Record<string, unknown> = {}) => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content, ...extra },
      finish_reason: extra.tool_calls ? "tool_calls" : "stop",
    },
  ],
  usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
});

const start = useServers();
const serve = (answer: (body: Record<string, unknown>, index: number, auth: string) => Reply) =>
  start((req, i) => answer((req.body ?? {}) as Record<string, unknown>, i, req.headers.authorization ?? ""));

const rigFor = (s: WireServer, keys: string, config: Record<string, unknown> = {}) =>
  makeRig(config, { OPENAI_API_KEYS: keys, OPENAI_BASE_URL: `${s.url}/v1` });

describe("OpenAI adapter", () => {
  it("sends a chat-completions request and normalizes the answer", async () => {
    const s = await serve(() => ({ json: completion("Hello there.") }));
    const { router, ledger } = rigFor(s, KEY1);
    const res = await run(
      router.generate(
        { provider: "openai", model: "gpt-4o-mini", temperature: 0.2, maxTokens: 64 },
        prompt("Hi"),
      ),
    );
    expect(res).toMatchObject({
      text: "Hello there.",
      toolCalls: [],
      usage: { inputTokens: 12, outputTokens: 5 },
      finishReason: "stop",
      provider: "openai",
      model: "gpt-4o-mini",
    });
    const req = s.requests[0]!;
    expect(req.path).toBe("/v1/chat/completions");
    expect(req.headers.authorization).toBe(`Bearer ${KEY1}`);
    expect(req.body).toMatchObject({
      model: "gpt-4o-mini",
      temperature: 0.2,
      max_tokens: 64,
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hi" },
      ],
    });
    const records = await run(ledger.query());
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      provider: "openai",
      model: "gpt-4o-mini",
      key: fingerprint(KEY1),
      outcome: "ok",
      tree: "t1",
    });
  });

  it("sends namespaced tool names (mcp.everything.echo) in the vendor's allowed form and maps calls back", async () => {
    const s = await serve((_b, i) =>
      i === 0
        ? {
            json: completion(null, {
              tool_calls: [
                {
                  id: "call_1",
                  type: "function",
                  function: { name: "mcp_everything_echo", arguments: '{"message":"hi"}' },
                },
              ],
            }),
          }
        : { json: completion("done") },
    );
    const { router } = rigFor(s, KEY1);
    const tools = [
      { name: "mcp.everything.echo", description: "Echo", inputSchema: { type: "object" } },
      {
        name: "mcp_everything_echo",
        description: "A different tool that already has the safe name",
        inputSchema: { type: "object" },
      },
    ];
    const first = await run(
      router.generate({ provider: "openai", model: "gpt-4o-mini" }, { ...prompt("Echo hi"), tools }),
    );
    const sentNames = (s.requests[0]!.body as { tools: Array<{ function: { name: string } }> }).tools.map(
      (t) => t.function.name,
    );
    expect(sentNames).toEqual(["mcp_everything_echo_2", "mcp_everything_echo"]);
    for (const name of sentNames) expect(name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    // The model called the tool that really is named mcp_everything_echo.
    expect(first.toolCalls).toEqual([{ id: "call_1", name: "mcp_everything_echo", args: { message: "hi" } }]);
    await run(
      router.generate(
        { provider: "openai", model: "gpt-4o-mini" },
        {
          context: ctx,
          tools,
          messages: [
            { role: "user", content: "Echo hi" },
            {
              role: "assistant",
              content: "",
              toolCalls: [{ id: "call_2", name: "mcp.everything.echo", args: {} }],
            },
            { role: "tool", toolCallId: "call_2", name: "mcp.everything.echo", content: "hi" },
          ],
        },
      ),
    );
    const sent = s.requests[1]!.body as {
      messages: Array<{ tool_calls?: Array<{ function: { name: string } }> }>;
    };
    expect(sent.messages[1]!.tool_calls![0]!.function.name).toBe("mcp_everything_echo_2");
  });

  it("round-trips a tool call: definitions in, normalized call out, result back in", async () => {
    const s = await serve((_b, i) =>
      i === 0
        ? {
            json: completion(null, {
              tool_calls: [
                {
                  id: "call_1",
                  type: "function",
                  function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
                },
              ],
            }),
          }
        : { json: completion("It is 3°C in Oslo.") },
    );
    const { router } = rigFor(s, KEY1);
    const tools = [
      {
        name: "get_weather",
        description: "Weather for a city",
        inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      },
    ];
    const first = await run(
      router.generate({ provider: "openai", model: "gpt-4o-mini" }, { ...prompt("Weather?"), tools }),
    );
    expect(first.finishReason).toBe("tool_calls");
    expect(first.toolCalls).toEqual([{ id: "call_1", name: "get_weather", args: { city: "Oslo" } }]);
    expect(s.requests[0]!.body).toMatchObject({
      tools: [{ type: "function", function: { name: "get_weather", description: "Weather for a city" } }],
    });

    const second = await run(
      router.generate(
        { provider: "openai", model: "gpt-4o-mini" },
        {
          context: ctx,
          tools,
          messages: [
            { role: "user", content: "Weather?" },
            { role: "assistant", content: "", toolCalls: first.toolCalls },
            { role: "tool", toolCallId: "call_1", name: "get_weather", content: '{"celsius":3}' },
          ],
        },
      ),
    );
    expect(second.text).toBe("It is 3°C in Oslo.");
    const sent = s.requests[1]!.body as { messages: Array<Record<string, unknown>> };
    expect(sent.messages[1]).toMatchObject({
      role: "assistant",
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
      ],
    });
    expect(sent.messages[2]).toMatchObject({
      role: "tool",
      tool_call_id: "call_1",
      content: '{"celsius":3}',
    });
  });

  it("streams text deltas, tool-call deltas and usage over SSE", async () => {
    const chunk = (delta: Record<string, unknown>, finish: string | null = null, usage?: unknown) => ({
      id: "chatcmpl-2",
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model: "gpt-4o-mini",
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...(usage ? { usage } : {}),
    });
    const s = await serve(() => ({
      sse: [
        { data: chunk({ role: "assistant", content: "Hel" }) },
        { data: chunk({ content: "lo" }) },
        {
          data: chunk({
            tool_calls: [
              { index: 0, id: "call_9", type: "function", function: { name: "lookup", arguments: '{"q":' } },
            ],
          }),
        },
        { data: chunk({ tool_calls: [{ index: 0, function: { arguments: '"x"}' } }] }) },
        { data: chunk({}, "tool_calls") },
        {
          data: {
            ...chunk({}),
            choices: [],
            usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
          },
        },
        { data: "[DONE]" },
      ],
    }));
    const { router, ledger } = rigFor(s, KEY1);
    const events = Chunk.toReadonlyArray(
      await run(Stream.runCollect(router.stream({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi")))),
    );
    expect(
      events.filter((e) => e.type === "text-delta").map((e) => (e.type === "text-delta" ? e.text : "")),
    ).toEqual(["Hel", "lo"]);
    const deltas = events.filter((e) => e.type === "tool-call-delta");
    expect(deltas.map((d) => (d.type === "tool-call-delta" ? d.argsDelta : "")).join("")).toBe('{"q":"x"}');
    expect(deltas[0]).toMatchObject({ id: "call_9", name: "lookup" });
    expect(events.find((e) => e.type === "tool-call")).toEqual({
      type: "tool-call",
      call: { id: "call_9", name: "lookup", args: { q: "x" } },
    });
    expect(events[events.length - 1]).toEqual({
      type: "finish",
      usage: { inputTokens: 9, outputTokens: 4 },
      finishReason: "tool_calls",
    });
    expect(s.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const [record] = await run(ledger.query());
    expect(record).toMatchObject({ operation: "stream", inputTokens: 9, outputTokens: 4, outcome: "ok" });
  });

  it("embeds texts through /embeddings", async () => {
    const s = await serve(() => ({
      json: {
        object: "list",
        data: [
          { object: "embedding", index: 0, embedding: [0.1, 0.2] },
          { object: "embedding", index: 1, embedding: [0.3, 0.4] },
        ],
        model: "text-embedding-3-small",
        usage: { prompt_tokens: 6, total_tokens: 6 },
      },
    }));
    const { router } = rigFor(s, KEY1);
    const res = await run(
      router.embed(
        { provider: "openai", model: "text-embedding-3-small" },
        { inputs: ["a", "b"], context: ctx },
      ),
    );
    expect(res.vectors).toEqual([
      [0.1, 0.2],
      [0.3, 0.4],
    ]);
    expect(res.usage.inputTokens).toBe(6);
    expect(s.requests[0]!.path).toBe("/v1/embeddings");
    expect(s.requests[0]!.body).toMatchObject({ model: "text-embedding-3-small", input: ["a", "b"] });
  });

  it("rotates to the second key on 429, cools the first for Retry-After, and shows it in status", async () => {
    const s = await serve((_b, _i, auth) =>
      auth.endsWith(KEY1)
        ? {
            status: 429,
            headers: { "retry-after": "7" },
            json: { error: { message: "Rate limit reached", type: "requests" } },
          }
        : { json: completion("from key two") },
    );
    const { router, hub, events } = rigFor(s, `${KEY1},${KEY2}`);
    const program = Effect.gen(function* () {
      const res = yield* router.generate({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi"));
      const status = yield* providersStatus(hub);
      yield* TestClock.adjust("7 seconds");
      const later = yield* providersStatus(hub);
      return { res, status, later };
    });
    const { res, status, later } = await run(program);
    expect(res.text).toBe("from key two");
    expect(s.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${KEY1}`, `Bearer ${KEY2}`]);
    const openai = status.providers.find((p) => p.name === "openai")!;
    expect(openai.state).toBe("available");
    expect(openai.keys).toEqual([
      expect.objectContaining({
        fingerprint: fingerprint(KEY1),
        cooling: true,
        coolingUntil: 7000,
        cooldowns: 1,
        requests: 1,
      }),
      expect.objectContaining({ fingerprint: fingerprint(KEY2), cooling: false, requests: 1, tokens: 17 }),
    ]);
    expect(later.providers.find((p) => p.name === "openai")!.keys[0]!.cooling).toBe(false);
    expect(events.find((e) => e.type === "key.cooldown")).toMatchObject({
      provider: "openai",
      key: fingerprint(KEY1),
      untilMs: 7000,
    });
    const everything = JSON.stringify({ status, later, events });
    expect(everything).not.toContain(KEY1);
    expect(everything).not.toContain(KEY2);
  });

  it("returns a typed rate limit with the earliest retry time when every key is cooling", async () => {
    const s = await serve((_b, _i, auth) => ({
      status: 429,
      headers: { "retry-after": auth.endsWith(KEY1) ? "30" : "5" },
      json: { error: { message: "quota exceeded" } },
    }));
    const { router } = rigFor(s, `${KEY1},${KEY2}`);
    const error = await runFailure(
      router.generate({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi")),
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ reason: "rate_limited", retryable: true, retryAfterMs: 5000 });
    expect(s.requests).toHaveLength(2);
    expect(error.message).not.toContain(KEY1);
  });

  it("uses exponential cooldowns when the provider gives no Retry-After", async () => {
    const s = await serve(() => ({ status: 429, json: { error: { message: "slow down" } } }));
    const { router, hub } = rigFor(s, KEY1, { routing: { cooldownBaseMs: 1000 } });
    const program = Effect.gen(function* () {
      yield* Effect.flip(router.generate({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi")));
      const first = (yield* providersStatus(hub)).providers.find((p) => p.name === "openai")!.keys[0]!
        .coolingUntil;
      yield* TestClock.adjust("1 second");
      yield* Effect.flip(router.generate({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi")));
      const second = (yield* providersStatus(hub)).providers.find((p) => p.name === "openai")!.keys[0]!
        .coolingUntil;
      return [first, second];
    });
    expect(await run(program)).toEqual([1000, 1000 + 2000]);
  });

  it("refuses a bad key with a clear error and does not retry", async () => {
    const s = await serve(() => ({
      status: 401,
      json: { error: { message: `Incorrect API key provided: ${KEY1}`, type: "invalid_request_error" } },
    }));
    const { router, events } = rigFor(s, `${KEY1},${KEY2}`);
    const error = await runFailure(
      router.generate({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi")),
    );
    expect(error).toMatchObject({ reason: "auth", retryable: false, status: 401 });
    expect(error.message).toMatch(/refused the API key/);
    expect(error.message).not.toContain(KEY1);
    expect(error.message).toContain(fingerprint(KEY1));
    expect(s.requests).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain(KEY1);
  });

  it("reports a malformed body as malformed_response without crashing", async () => {
    const s = await serve(() => ({
      text: "<html>gateway</html>",
      headers: { "content-type": "application/json" },
    }));
    const { router } = rigFor(s, KEY1);
    const error = await runFailure(
      router.generate({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi")),
    );
    expect(error).toMatchObject({ reason: "malformed_response", provider: "openai" });
    const wrongShape = await serve(() => ({ json: { choices: "nope" } }));
    const rig2 = rigFor(wrongShape, KEY1);
    const error2 = await runFailure(
      rig2.router.generate({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi")),
    );
    expect(error2).toMatchObject({ reason: "malformed_response" });
  });

  it("says which variable to set when OpenAI has no key", async () => {
    const { router } = makeRig({}, {});
    const error = await runFailure(
      router.generate({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi")),
    );
    expect(error).toMatchObject({ reason: "unavailable", fault: "config" });
    expect(error.message).toContain("OPENAI_API_KEY");
  });
});
