/**
 * Failure paths that cut across adapters: a stream rotating keys before its first delta, content
 * policy refusals, a provider that is down (network error → fallback), and a stream that breaks
 * mid-way.
 */
import { Chunk, Effect, Fiber, Stream, TestClock } from "effect";
import { describe, expect, it } from "vitest";
import { fingerprint } from "../../plugins/providers/errors.ts";
import { makeRig, prompt, run, runFailure, useServers } from "./harness.ts";

const serve = useServers();
const KEY1 = "sk-fail-test-key-0001AAAA";
const KEY2 = "sk-fail-test-key-0002BBBB";

const chunk = (content: string, finish: string | null = null) => ({
  id: "c",
  object: "chat.completion.chunk",
  created: 1,
  model: "gpt-4o-mini",
  choices: [{ index: 0, delta: { content }, finish_reason: finish }],
});

describe("failure paths", () => {
  it("rotates keys for a stream before the first delta reaches the agent", async () => {
    const s = await serve((req) =>
      req.headers.authorization === `Bearer ${KEY1}`
        ? { status: 429, headers: { "retry-after": "2" }, json: { error: { message: "rl" } } }
        : { sse: [{ data: chunk("one") }, { data: chunk(" two", "stop") }, { data: "[DONE]" }] },
    );
    const { router, events } = makeRig(
      {},
      { OPENAI_API_KEYS: `${KEY1},${KEY2}`, OPENAI_BASE_URL: `${s.url}/v1` },
    );
    const out = Chunk.toReadonlyArray(
      await run(Stream.runCollect(router.stream({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi")))),
    );
    expect(out.flatMap((e) => (e.type === "text-delta" ? [e.text] : [])).join("")).toBe("one two");
    expect(events.find((e) => e.type === "key.cooldown")).toMatchObject({
      key: fingerprint(KEY1),
      untilMs: 2000,
    });
  });

  it("returns a content-policy refusal as such, without fallback", async () => {
    const s = await serve((req) =>
      req.path.startsWith("/openai")
        ? {
            status: 400,
            json: {
              error: {
                message: "Your request was rejected by the safety system.",
                code: "content_policy_violation",
              },
            },
          }
        : { json: {} },
    );
    const { router } = makeRig(
      {
        profiles: {
          safe: [
            { provider: "openai", model: "gpt-4o-mini" },
            { provider: "groq", model: "llama-3.1-8b-instant" },
          ],
        },
      },
      {
        OPENAI_API_KEY: KEY1,
        OPENAI_BASE_URL: `${s.url}/openai/v1`,
        GROQ_API_KEY: KEY2,
        GROQ_BASE_URL: `${s.url}/groq/v1`,
      },
    );
    const error = await runFailure(router.generate({ profile: "safe" }, prompt("Hi")));
    expect(error).toMatchObject({ reason: "content_policy", retryable: false, fault: "model" });
    expect(s.requests).toHaveLength(1);
  });

  it("falls back when a provider cannot be reached at all", async () => {
    const s = await serve(() => ({
      json: {
        id: "c",
        object: "chat.completion",
        created: 1,
        model: "llama-3.1-8b-instant",
        choices: [{ index: 0, message: { role: "assistant", content: "groq is up" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      },
    }));
    const { router, events } = makeRig(
      {
        profiles: {
          p: [
            { provider: "openai", model: "gpt-4o-mini" },
            { provider: "groq", model: "llama-3.1-8b-instant" },
          ],
        },
      },
      // port 9 (discard) on loopback: nothing listens, the connection is refused
      {
        OPENAI_API_KEY: KEY1,
        OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
        GROQ_API_KEY: KEY2,
        GROQ_BASE_URL: `${s.url}/v1`,
      },
    );
    const res = await run(router.generate({ profile: "p" }, prompt("Hi")));
    expect(res.text).toBe("groq is up");
    expect(events.find((e) => e.type === "provider.fallback")).toMatchObject({ reason: "network" });
  });

  it("ends a stream with a typed error when the provider sends garbage mid-way", async () => {
    const s = await serve(() => ({ sse: [{ data: chunk("partial") }, { data: "{not json" }] }));
    const { router, ledger } = makeRig({}, { OPENAI_API_KEY: KEY1, OPENAI_BASE_URL: `${s.url}/v1` });
    const error = await runFailure(
      Stream.runCollect(router.stream({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi"))),
    );
    expect(error).toMatchObject({ reason: "malformed_response", provider: "openai" });
    expect((await run(ledger.query()))[0]).toMatchObject({
      operation: "stream",
      outcome: "error",
      reason: "malformed_response",
    });
  });

  it("tries each key once per call even when the provider says Retry-After: 0", async () => {
    const s = await serve(() => ({
      status: 429,
      headers: { "retry-after": "0" },
      json: { error: { message: "rl" } },
    }));
    const { router } = makeRig({}, { OPENAI_API_KEYS: `${KEY1},${KEY2}`, OPENAI_BASE_URL: `${s.url}/v1` });
    const error = await runFailure(
      router.generate({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi")),
    );
    expect(error).toMatchObject({ reason: "rate_limited", retryAfterMs: 0 });
    expect(s.requests).toHaveLength(2);
  });

  it("times out a provider that does not answer (on Effect's Clock) and falls back", async () => {
    let arrived: () => void = () => {};
    const hungUp = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const s = await serve((req) => {
      if (req.path.startsWith("/openai")) {
        arrived();
        return { hang: true };
      }
      return {
        json: {
          id: "c",
          object: "chat.completion",
          created: 1,
          model: "llama-3.1-8b-instant",
          choices: [{ index: 0, message: { role: "assistant", content: "in time" }, finish_reason: "stop" }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        },
      };
    });
    const { router, events } = makeRig(
      {
        profiles: {
          p: [
            { provider: "openai", model: "gpt-4o-mini" },
            { provider: "groq", model: "llama-3.1-8b-instant" },
          ],
        },
        routing: { timeoutMs: 5000 },
      },
      {
        OPENAI_API_KEY: KEY1,
        OPENAI_BASE_URL: `${s.url}/openai/v1`,
        GROQ_API_KEY: KEY2,
        GROQ_BASE_URL: `${s.url}/groq/v1`,
      },
    );
    const program = Effect.gen(function* () {
      const call = yield* Effect.fork(router.generate({ profile: "p" }, prompt("Hi")));
      yield* Effect.promise(() => hungUp);
      yield* TestClock.adjust("5 seconds");
      return yield* Fiber.join(call);
    });
    const res = await run(program);
    expect(res.text).toBe("in time");
    expect(events.find((e) => e.type === "provider.fallback")).toMatchObject({ reason: "timeout" });
  });
});
