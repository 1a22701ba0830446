/**
 * Google (Gemini API) adapter against a local server speaking generateContent,
 * streamGenerateContent (SSE) and embedContent / batchEmbedContents.
 */
import { Chunk, Stream } from "effect";
import { describe, expect, it } from "vitest";
import { ctx, makeRig, prompt, run, runFailure, useServers } from "./harness.ts";
import type { WireServer } from "./wire-server.ts";

const KEY = "AIzaTestKeyForGemini-EEEE5555";
const serve = useServers();
const rigFor = (s: WireServer) => makeRig({}, { GEMINI_API_KEY: KEY, GEMINI_BASE_URL: `${s.url}/v1beta` });
const choice = { provider: "google", model: "gemini-2.0-flash" };

const answer = (parts: ReadonlyArray<unknown>, finishReason = "STOP") => ({
  candidates: [{ content: { role: "model", parts }, finishReason, index: 0 }],
  usageMetadata: { promptTokenCount: 8, candidatesTokenCount: 3, totalTokenCount: 11 },
  modelVersion: "gemini-2.0-flash",
});

describe("Google (Gemini) adapter", () => {
  it("sends generateContent with systemInstruction and generationConfig", async () => {
    const s = await serve(() => ({ json: answer([{ text: "Bonjour." }]) }));
    const res = await run(
      rigFor(s).router.generate({ ...choice, temperature: 0.1, maxTokens: 50 }, prompt("Hello in French")),
    );
    expect(res).toMatchObject({
      text: "Bonjour.",
      usage: { inputTokens: 8, outputTokens: 3 },
      finishReason: "stop",
    });
    const req = s.requests[0]!;
    expect(req.path).toBe("/v1beta/models/gemini-2.0-flash:generateContent");
    expect(req.headers["x-goog-api-key"]).toBe(KEY);
    expect(req.body).toMatchObject({
      systemInstruction: { parts: [{ text: "You are terse." }] },
      contents: [{ role: "user", parts: [{ text: "Hello in French" }] }],
      generationConfig: { temperature: 0.1, maxOutputTokens: 50 },
    });
  });

  it("round-trips functionCall and functionResponse parts", async () => {
    const s = await serve((_r, i) =>
      i === 0
        ? { json: answer([{ functionCall: { name: "add", args: { a: 1, b: 2 } } }]) }
        : { json: answer([{ text: "3" }]) },
    );
    const { router } = rigFor(s);
    const tools = [
      {
        name: "add",
        description: "Adds",
        inputSchema: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } } },
      },
    ];
    const first = await run(router.generate(choice, { ...prompt("1+2?"), tools }));
    expect(first.toolCalls).toHaveLength(1);
    expect(first.toolCalls[0]).toMatchObject({ name: "add", args: { a: 1, b: 2 } });
    expect(s.requests[0]!.body).toMatchObject({
      tools: [{ functionDeclarations: [{ name: "add", description: "Adds" }] }],
    });
    const second = await run(
      router.generate(choice, {
        context: ctx,
        tools,
        messages: [
          { role: "user", content: "1+2?" },
          { role: "assistant", content: "", toolCalls: first.toolCalls },
          { role: "tool", toolCallId: first.toolCalls[0]!.id, name: "add", content: "3" },
        ],
      }),
    );
    expect(second.text).toBe("3");
    const sent = s.requests[1]!.body as {
      contents: Array<{ role: string; parts: Array<Record<string, unknown>> }>;
    };
    expect(sent.contents[1]).toMatchObject({
      role: "model",
      parts: [{ functionCall: { name: "add", args: { a: 1, b: 2 } } }],
    });
    expect(sent.contents[2]!.parts[0]).toMatchObject({ functionResponse: { name: "add" } });
  });

  it("streams through streamGenerateContent?alt=sse", async () => {
    const s = await serve(() => ({
      sse: [
        { data: { candidates: [{ content: { role: "model", parts: [{ text: "One " }] }, index: 0 }] } },
        { data: { candidates: [{ content: { role: "model", parts: [{ text: "two." }] }, index: 0 }] } },
        { data: answer([{ text: "" }]) },
      ],
    }));
    const events = Chunk.toReadonlyArray(
      await run(Stream.runCollect(rigFor(s).router.stream(choice, prompt("Count")))),
    );
    expect(events.flatMap((e) => (e.type === "text-delta" ? [e.text] : [])).join("")).toBe("One two.");
    expect(events[events.length - 1]).toMatchObject({
      type: "finish",
      finishReason: "stop",
      usage: { inputTokens: 8, outputTokens: 3 },
    });
    expect(s.requests[0]!.path).toBe("/v1beta/models/gemini-2.0-flash:streamGenerateContent");
    expect(s.requests[0]!.query.get("alt")).toBe("sse");
  });

  it("embeds one text with embedContent and several with batchEmbedContents", async () => {
    const s = await serve((req) =>
      req.path.endsWith(":embedContent")
        ? { json: { embedding: { values: [1, 2, 3] } } }
        : { json: { embeddings: [{ values: [1, 0] }, { values: [0, 1] }] } },
    );
    const { router } = rigFor(s);
    const one = await run(
      router.embed({ provider: "google", model: "gemini-embedding-001" }, { inputs: ["x"], context: ctx }),
    );
    expect(one.vectors).toEqual([[1, 2, 3]]);
    const two = await run(
      router.embed(
        { provider: "google", model: "gemini-embedding-001" },
        { inputs: ["x", "y"], context: ctx },
      ),
    );
    expect(two.vectors).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(s.requests.map((r) => r.path)).toEqual([
      "/v1beta/models/gemini-embedding-001:embedContent",
      "/v1beta/models/gemini-embedding-001:batchEmbedContents",
    ]);
  });

  it("maps RESOURCE_EXHAUSTED 429 to a rate limit and 400 INVALID_ARGUMENT to bad_request", async () => {
    const s = await serve((_r, i) =>
      i === 0
        ? {
            status: 429,
            json: {
              error: {
                code: 429,
                message: "Resource has been exhausted (e.g. check quota).",
                status: "RESOURCE_EXHAUSTED",
              },
            },
          }
        : {
            status: 400,
            json: { error: { code: 400, message: "Invalid JSON payload", status: "INVALID_ARGUMENT" } },
          },
    );
    const { router } = rigFor(s);
    expect(await runFailure(router.generate(choice, prompt("Hi")))).toMatchObject({
      reason: "rate_limited",
      retryable: true,
    });
    // the only key is cooling now: the next call does not reach the server
    expect(await runFailure(router.generate(choice, prompt("Hi")))).toMatchObject({ reason: "rate_limited" });
    expect(s.requests).toHaveLength(1);
  });

  it("accepts the gemini alias and reports a 400 as a non-retryable bad request", async () => {
    const s = await serve(() => ({
      status: 400,
      json: { error: { code: 400, message: "Invalid JSON payload", status: "INVALID_ARGUMENT" } },
    }));
    const error = await runFailure(
      rigFor(s).router.generate({ provider: "gemini", model: "gemini-2.0-flash" }, prompt("Hi")),
    );
    expect(error).toMatchObject({ reason: "bad_request", retryable: false, provider: "google" });
    expect(error.message).toContain("Invalid JSON payload");
  });

  it("returns a blocked prompt (promptFeedback.blockReason) as a content_filter answer", async () => {
    const s = await serve(() => ({
      json: { promptFeedback: { blockReason: "SAFETY" }, usageMetadata: { promptTokenCount: 4 } },
    }));
    const res = await run(rigFor(s).router.generate(choice, prompt("something unsafe")));
    expect(res).toMatchObject({
      text: "",
      toolCalls: [],
      finishReason: "content_filter",
      usage: { inputTokens: 4 },
    });
  });
});
