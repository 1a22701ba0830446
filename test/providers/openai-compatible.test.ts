/**
 * OpenRouter, DeepSeek, Groq and Cerebras: the OpenAI chat-completions format with their own base
 * URLs, keys and headers. One shared suite, run against each.
 */
import { Chunk, Stream } from "effect";
import { describe, expect, it } from "vitest";
import { makeRig, prompt, run, runFailure, useServers } from "./harness.ts";

const serve = useServers();

const cases = [
  {
    provider: "openrouter",
    prefix: "OPENROUTER",
    model: "openai/gpt-4o-mini",
    mount: "/api/v1",
    header: ["x-title", "Arbor"],
  },
  { provider: "deepseek", prefix: "DEEPSEEK", model: "deepseek-chat", mount: "/v1" },
  { provider: "groq", prefix: "GROQ", model: "llama-3.1-8b-instant", mount: "/openai/v1" },
  { provider: "cerebras", prefix: "CEREBRAS", model: "llama3.1-8b", mount: "/v1" },
] as const;

const completion = (model: string, message: Record<string, unknown>, finish = "stop") => ({
  id: "cmpl-1",
  object: "chat.completion",
  created: 1_700_000_000,
  model,
  choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finish }],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
});

describe.each(cases)("$provider (OpenAI-compatible)", (c) => {
  const key = `test-${c.provider}-key-${c.prefix.slice(0, 4)}9999`;
  const env = (url: string) => ({
    [`${c.prefix}_API_KEY`]: key,
    [`${c.prefix}_BASE_URL`]: `${url}${c.mount}`,
  });

  it("posts to its own base URL with its key and headers", async () => {
    const s = await serve(() => ({ json: completion(c.model, { content: "ok" }) }));
    const res = await run(
      makeRig({}, env(s.url)).router.generate(
        { provider: c.provider, model: c.model, maxTokens: 10 },
        prompt("Hi"),
      ),
    );
    expect(res).toMatchObject({
      text: "ok",
      provider: c.provider,
      model: c.model,
      usage: { inputTokens: 5, outputTokens: 2 },
    });
    const req = s.requests[0]!;
    expect(req.path).toBe(`${c.mount}/chat/completions`);
    expect(req.headers.authorization).toBe(`Bearer ${key}`);
    if ("header" in c) expect(req.headers[c.header[0]]).toBe(c.header[1]);
    expect(req.body).toMatchObject({
      model: c.model,
      max_tokens: 10,
      messages: [{ role: "system" }, { role: "user", content: "Hi" }],
    });
  });

  it("returns tool calls and streams deltas", async () => {
    const s = await serve((req) =>
      (req.body as { stream?: boolean }).stream
        ? {
            sse: [
              {
                data: {
                  id: "c",
                  object: "chat.completion.chunk",
                  created: 1,
                  model: c.model,
                  choices: [{ index: 0, delta: { content: "a" } }],
                },
              },
              {
                data: {
                  id: "c",
                  object: "chat.completion.chunk",
                  created: 1,
                  model: c.model,
                  choices: [{ index: 0, delta: { content: "b" }, finish_reason: "stop" }],
                },
              },
              { data: "[DONE]" },
            ],
          }
        : {
            json: completion(
              c.model,
              {
                content: null,
                tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: '{"x":1}' } }],
              },
              "tool_calls",
            ),
          },
    );
    const { router } = makeRig({}, env(s.url));
    const tools = [{ name: "f", description: "f", inputSchema: { type: "object" } }];
    const res = await run(
      router.generate({ provider: c.provider, model: c.model }, { ...prompt("call f"), tools }),
    );
    expect(res.toolCalls).toEqual([{ id: "t1", name: "f", args: { x: 1 } }]);
    const events = Chunk.toReadonlyArray(
      await run(Stream.runCollect(router.stream({ provider: c.provider, model: c.model }, prompt("ab")))),
    );
    expect(events.flatMap((e) => (e.type === "text-delta" ? [e.text] : []))).toEqual(["a", "b"]);
    expect(events[events.length - 1]).toMatchObject({ type: "finish", finishReason: "stop" });
  });

  it("fails clearly on 401 and on a malformed body, without the key", async () => {
    const s = await serve((_r, i) =>
      i === 0 ? { status: 401, json: { error: { message: "invalid api key" } } } : { text: "not json" },
    );
    const { router } = makeRig({}, env(s.url));
    const auth = await runFailure(router.generate({ provider: c.provider, model: c.model }, prompt("Hi")));
    expect(auth).toMatchObject({ reason: "auth", retryable: false, provider: c.provider });
    expect(auth.message).not.toContain(key);
    const bad = await runFailure(router.generate({ provider: c.provider, model: c.model }, prompt("Hi")));
    expect(bad).toMatchObject({ reason: "malformed_response" });
    expect(s.requests).toHaveLength(2);
  });
});
