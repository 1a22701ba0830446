/**
 * Ollama driver against a local server speaking /api/chat (JSON and NDJSON streaming) and
 * /api/embed.
 */
import { Chunk, Stream } from "effect";
import { describe, expect, it } from "vitest";
import { ctx, makeRig, prompt, run, runFailure, useServers } from "./harness.ts";
import type { WireServer } from "./wire-server.ts";

const serve = useServers();
const rigFor = (s: WireServer) => makeRig({}, { OLLAMA_BASE_URL: s.url });
const choice = { provider: "ollama", model: "llama3.2" };

const done = (message: Record<string, unknown>, reason = "stop") => ({
  model: "llama3.2",
  created_at: "2026-01-01T00:00:00Z",
  message: { role: "assistant", ...message },
  done: true,
  done_reason: reason,
  prompt_eval_count: 14,
  eval_count: 6,
});

describe("Ollama adapter", () => {
  it("posts /api/chat with options and normalizes the answer", async () => {
    const s = await serve(() => ({ json: done({ content: "Hej." }) }));
    const res = await run(
      rigFor(s).router.generate({ ...choice, temperature: 0.3, maxTokens: 20 }, prompt("Hi")),
    );
    expect(res).toMatchObject({
      text: "Hej.",
      usage: { inputTokens: 14, outputTokens: 6 },
      finishReason: "stop",
      provider: "ollama",
    });
    expect(s.requests[0]!.path).toBe("/api/chat");
    expect(s.requests[0]!.headers.authorization).toBeUndefined();
    expect(s.requests[0]!.body).toEqual({
      model: "llama3.2",
      stream: false,
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hi" },
      ],
      options: { temperature: 0.3, num_predict: 20 },
    });
  });

  it("round-trips tool calls with tool_name results", async () => {
    const s = await serve((_r, i) =>
      i === 0
        ? {
            json: done({
              content: "",
              tool_calls: [{ function: { name: "clock", arguments: { tz: "UTC" } } }],
            }),
          }
        : { json: done({ content: "It is noon." }) },
    );
    const { router } = rigFor(s);
    const tools = [{ name: "clock", description: "Time", inputSchema: { type: "object" } }];
    const first = await run(router.generate(choice, { ...prompt("time?"), tools }));
    expect(first.finishReason).toBe("tool_calls");
    expect(first.toolCalls).toEqual([
      { id: expect.stringMatching(/^ollama_call_/), name: "clock", args: { tz: "UTC" } },
    ]);
    expect(s.requests[0]!.body).toMatchObject({
      tools: [
        {
          type: "function",
          function: { name: "clock", description: "Time", parameters: { type: "object" } },
        },
      ],
    });
    await run(
      router.generate(choice, {
        context: ctx,
        tools,
        messages: [
          { role: "user", content: "time?" },
          { role: "assistant", content: "", toolCalls: first.toolCalls },
          { role: "tool", toolCallId: first.toolCalls[0]!.id, name: "clock", content: "12:00" },
        ],
      }),
    );
    expect((s.requests[1]!.body as { messages: unknown[] }).messages.slice(1)).toEqual([
      {
        role: "assistant",
        content: "",
        tool_calls: [{ function: { name: "clock", arguments: { tz: "UTC" } } }],
      },
      { role: "tool", content: "12:00", tool_name: "clock" },
    ]);
  });

  it("streams NDJSON deltas and the final usage", async () => {
    const s = await serve(() => ({
      ndjson: [
        { model: "llama3.2", message: { role: "assistant", content: "Tre" }, done: false },
        { model: "llama3.2", message: { role: "assistant", content: "es" }, done: false },
        done({ content: "" }),
      ],
    }));
    const events = Chunk.toReadonlyArray(
      await run(Stream.runCollect(rigFor(s).router.stream(choice, prompt("Trees")))),
    );
    expect(events).toEqual([
      { type: "text-delta", text: "Tre" },
      { type: "text-delta", text: "es" },
      { type: "finish", usage: { inputTokens: 14, outputTokens: 6 }, finishReason: "stop" },
    ]);
    expect(s.requests[0]!.body).toMatchObject({ stream: true });
  });

  it("embeds through /api/embed", async () => {
    const s = await serve(() => ({
      json: { model: "nomic-embed-text", embeddings: [[0.5, 0.5]], prompt_eval_count: 3 },
    }));
    const res = await run(
      rigFor(s).router.embed(
        { provider: "ollama", model: "nomic-embed-text" },
        { inputs: ["leaf"], context: ctx },
      ),
    );
    expect(res).toEqual({
      vectors: [[0.5, 0.5]],
      usage: { inputTokens: 3, outputTokens: 0 },
      model: "nomic-embed-text",
    });
    expect(s.requests[0]).toMatchObject({
      path: "/api/embed",
      body: { model: "nomic-embed-text", input: ["leaf"] },
    });
  });

  it("reports an unknown model (404) as bad_request and a broken stream line as malformed", async () => {
    const s = await serve((req) =>
      (req.body as { stream?: boolean }).stream
        ? { ndjson: [{ model: "llama3.2", message: { content: "ok" }, done: false }, "garbage"] }
        : { status: 404, json: { error: "model 'nope' not found" } },
    );
    const { router } = rigFor(s);
    const missing = await runFailure(router.generate({ provider: "ollama", model: "nope" }, prompt("Hi")));
    expect(missing).toMatchObject({ reason: "bad_request", status: 404, retryable: false });
    expect(missing.message).toContain("model 'nope' not found");
    const broken = await runFailure(Stream.runCollect(router.stream(choice, prompt("Hi"))));
    expect(broken).toMatchObject({ reason: "malformed_response" });
  });

  it("is unavailable until OLLAMA_BASE_URL is set", async () => {
    const error = await runFailure(makeRig({}, {}).router.generate(choice, prompt("Hi")));
    expect(error.message).toContain("OLLAMA_BASE_URL");
  });
});
