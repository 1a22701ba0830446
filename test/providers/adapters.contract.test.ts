/**
 * The contract every keyed adapter passes, each against a local server speaking its own wire
 * format: success, 429 + Retry-After rotation and cooldown, 5xx as a retryable server error,
 * 401 without retry, malformed bodies — and keys never in errors, events, status or the ledger.
 */
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { fingerprint } from "../../plugins/providers/errors.ts";
import { providersStatus } from "../../plugins/providers/status.ts";
import { makeRig, prompt, run, runFailure, useServers } from "./harness.ts";
import type { Recorded, Reply } from "./wire-server.ts";

interface WireFixture {
  readonly provider: string;
  readonly prefix: string;
  readonly mount: string;
  readonly model: string;
  readonly keyOf: (req: Recorded) => string | undefined;
  readonly ok: (text: string) => unknown;
  readonly error: (status: number, message: string) => unknown;
}

const openaiLike = (provider: string, prefix: string, mount: string, model: string): WireFixture => ({
  provider,
  prefix,
  mount,
  model,
  keyOf: (req) => req.headers.authorization?.replace(/^Bearer /, ""),
  ok: (text) => ({
    id: "c",
    object: "chat.completion",
    created: 1,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
  }),
  error: (_status, message) => ({ error: { message, type: "error" } }),
});

const fixtures: ReadonlyArray<WireFixture> = [
  openaiLike("openai", "OPENAI", "/v1", "gpt-4o-mini"),
  {
    provider: "anthropic",
    prefix: "ANTHROPIC",
    mount: "/v1",
    model: "claude-3-5-haiku-latest",
    keyOf: (req) => req.headers["x-api-key"],
    ok: (text) => ({
      id: "msg",
      type: "message",
      role: "assistant",
      model: "claude-3-5-haiku-latest",
      content: [{ type: "text", text }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 1 },
    }),
    error: (status, message) => ({
      type: "error",
      error: {
        type: status === 429 ? "rate_limit_error" : status === 401 ? "authentication_error" : "api_error",
        message,
      },
    }),
  },
  {
    provider: "google",
    prefix: "GEMINI",
    mount: "/v1beta",
    model: "gemini-2.0-flash",
    keyOf: (req) => req.headers["x-goog-api-key"],
    ok: (text) => ({
      candidates: [{ content: { role: "model", parts: [{ text }] }, finishReason: "STOP" }],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1, totalTokenCount: 4 },
    }),
    error: (status, message) => ({
      error: { code: status, message, status: status === 429 ? "RESOURCE_EXHAUSTED" : "UNKNOWN" },
    }),
  },
  openaiLike("openrouter", "OPENROUTER", "/api/v1", "openai/gpt-4o-mini"),
  openaiLike("deepseek", "DEEPSEEK", "/v1", "deepseek-chat"),
  openaiLike("groq", "GROQ", "/openai/v1", "llama-3.1-8b-instant"),
  openaiLike("cerebras", "CEREBRAS", "/v1", "llama3.1-8b"),
];

const serve = useServers();

describe.each(fixtures)("adapter contract: $provider", (f) => {
  const key1 = `${f.provider}-contract-key-00000001`;
  const key2 = `${f.provider}-contract-key-00000002`;
  const rig = (url: string) =>
    makeRig(
      {},
      { [`${f.prefix}_API_KEYS`]: `${key1},${key2}`, [`${f.prefix}_BASE_URL`]: `${url}${f.mount}` },
    );
  const choice = { provider: f.provider, model: f.model };
  const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
    status,
    json: body,
    headers,
  });

  it("rotates past a 429 key, honours Retry-After, and keeps keys out of everything", async () => {
    const s = await serve((req) =>
      f.keyOf(req) === key1
        ? json(429, f.error(429, "rate limit reached"), { "retry-after": "9" })
        : json(200, f.ok("second key answered")),
    );
    const { router, hub, events, ledger } = rig(s.url);
    const { res, status } = await run(
      Effect.gen(function* () {
        const res = yield* router.generate(choice, prompt("Hi"));
        return { res, status: yield* providersStatus(hub) };
      }),
    );
    expect(res).toMatchObject({
      text: "second key answered",
      provider: f.provider,
      usage: { inputTokens: 3, outputTokens: 1 },
    });
    expect(s.requests.map((r) => f.keyOf(r))).toEqual([key1, key2]);
    const keys = status.providers.find((p) => p.name === f.provider)!.keys;
    expect(keys.map((k) => [k.fingerprint, k.cooling, k.coolingUntil])).toEqual([
      [fingerprint(key1), true, 9000],
      [fingerprint(key2), false, undefined],
    ]);
    const everything = JSON.stringify({ status, events, ledger: await run(ledger.query()) });
    expect(everything).not.toContain(key1);
    expect(everything).not.toContain(key2);
  });

  it("reports 5xx as a retryable server error", async () => {
    const s = await serve(() => json(503, f.error(503, "upstream unavailable")));
    const error = await runFailure(rig(s.url).router.generate(choice, prompt("Hi")));
    expect(error).toMatchObject({ reason: "server", retryable: true, status: 503, provider: f.provider });
  });

  it("refuses a 401 at once with a message a person can act on", async () => {
    const s = await serve(() => json(401, f.error(401, `invalid key ${key1}`)));
    const error = await runFailure(rig(s.url).router.generate(choice, prompt("Hi")));
    expect(error).toMatchObject({ reason: "auth", retryable: false, fault: "config" });
    expect(error.message).toContain("check the key");
    expect(error.message).not.toContain(key1);
    expect(s.requests).toHaveLength(1);
  });

  it("reports a malformed body without crashing", async () => {
    const s = await serve((_r, i) => (i === 0 ? { text: "{ truncated" } : json(200, { unexpected: true })));
    const { router } = rig(s.url);
    expect(await runFailure(router.generate(choice, prompt("Hi")))).toMatchObject({
      reason: "malformed_response",
    });
    expect(await runFailure(router.generate(choice, prompt("Hi")))).toMatchObject({
      reason: "malformed_response",
    });
  });
});
