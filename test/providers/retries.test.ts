/**
 * Retries (issue 15): a 5xx, a timeout or a lost connection is tried again on the same candidate
 * after an exponential backoff with jitter, each attempt evented; a short Retry-After is waited out
 * when no other key or candidate can serve; an aborted call stops retrying at once.
 * Against a local server speaking the OpenAI wire format.
 */

import { Effect, Either, Exit, Fiber, TestClock } from "effect";
import { describe, expect, it } from "vitest";
import { loadProvidersConfig } from "../../plugins/providers/config.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { makeRig, prompt, run, useServers } from "./harness.ts";
import type { WireServer } from "./wire-server.ts";
import { openaiCompletion } from "./wire-server.ts";

const serve = useServers();

const completion = (content: string) => openaiCompletion(content, { tokens: [10, 5] });
const fail500 = { status: 500, json: { error: { message: "internal error" } } };
const env = (s: WireServer, keys = "sk-retry-test-0001") => ({
  OPENAI_API_KEYS: keys,
  OPENAI_BASE_URL: `${s.url}/v1`,
});
const openai = { provider: "openai", model: "gpt-4o-mini" };
const kinds = (events: ReadonlyArray<ArborEvent>) =>
  events
    .filter(
      (e) => e.type === "provider.call" || e.type === "provider.retry" || e.type === "provider.fallback",
    )
    .map((e) => (e.type === "provider.call" ? `call ${e.outcome}` : e.type));

/** Runs on the live clock: the waits are real but short (backoff of a few ms, Retry-After: 1). */
const live = <A, E>(program: Effect.Effect<A, E>) => Effect.runPromise(program);

describe("retries", () => {
  it("are on by default: two per provider, configurable per provider", () => {
    const config = loadProvidersConfig({ providers: { groq: { retries: 0 } } }, {});
    expect(Either.isRight(config) && config.right.providers.openai.retries).toBe(2);
    expect(Either.isRight(config) && config.right.providers.groq.retries).toBe(0);
  });

  it("a 500 then a 200 on one candidate gives one answer and two evented attempts", async () => {
    const s = await serve((_req, i) => (i === 0 ? fail500 : { json: completion("second time lucky") }));
    const rig = makeRig({ routing: { retries: 2, retryBaseMs: 5 } }, env(s));
    const res = await live(rig.router.generate(openai, prompt("hi")));
    expect(res.text).toBe("second time lucky");
    expect(s.requests).toHaveLength(2);
    expect(kinds(rig.events)).toEqual(["call error", "provider.retry", "call ok"]);
    expect(rig.events.find((e) => e.type === "provider.retry")).toMatchObject({
      provider: "openai",
      attempt: 2,
      reason: "server",
    });
  });

  it("gives up after the configured retries, per provider", async () => {
    const s = await serve(() => fail500);
    const rig = makeRig(
      { providers: { openai: { retries: 1 } }, routing: { retries: 5, retryBaseMs: 5 } },
      env(s),
    );
    const exit = await Effect.runPromiseExit(rig.router.generate(openai, prompt("hi")));
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain('"reason":"server"');
    expect(s.requests).toHaveLength(2);
  });

  it("backs off exponentially with jitter on Effect's Clock, and an aborted call stops retrying", async () => {
    const s = await serve(() => fail500);
    const rig = makeRig({ routing: { retries: 2, retryBaseMs: 1000, retryMaxMs: 60_000 } }, env(s));
    const outcome = await run(
      Effect.gen(function* () {
        const fiber = yield* Effect.fork(rig.router.generate(openai, prompt("hi")));
        yield* Effect.promise(() => s.received(1));
        // the retry is announced, then the fiber sleeps on the TestClock: abort it there
        while (!rig.events.some((e) => e.type === "provider.retry")) yield* Effect.yieldNow();
        const exit = yield* Fiber.interrupt(fiber);
        yield* TestClock.adjust("10 minutes");
        return exit;
      }),
    );
    expect(Exit.isInterrupted(outcome)).toBe(true);
    expect(s.requests).toHaveLength(1);
    const retry = rig.events.find((e) => e.type === "provider.retry");
    expect(retry && "delayMs" in retry && retry.delayMs).toBeGreaterThanOrEqual(500);
    expect(retry && "delayMs" in retry && retry.delayMs).toBeLessThanOrEqual(1000);
  });

  it("a 429 with Retry-After: 1 and one key waits and succeeds", async () => {
    const s = await serve((_req, i) =>
      i === 0
        ? { status: 429, headers: { "retry-after": "1" }, json: { error: { message: "Rate limit reached" } } }
        : { json: completion("after the wait") },
    );
    const rig = makeRig({ routing: { retries: 2 } }, env(s));
    const res = await live(rig.router.generate(openai, prompt("hi")));
    expect(res.text).toBe("after the wait");
    expect(s.requests).toHaveLength(2);
    expect(kinds(rig.events)).toEqual(["call error", "provider.retry", "call ok"]);
    // the wait is what is left of the key's Retry-After when nothing else can serve
    const wait = rig.events.find((e) => e.type === "provider.retry");
    expect(wait && "delayMs" in wait && wait.delayMs).toBeGreaterThan(0);
    expect(wait && "delayMs" in wait && wait.delayMs).toBeLessThanOrEqual(1000);
  });

  it("does not wait out a Retry-After above the ceiling", async () => {
    const s = await serve(() => ({
      status: 429,
      headers: { "retry-after": "120" },
      json: { error: { message: "Rate limit reached" } },
    }));
    const rig = makeRig({ routing: { retries: 2, maxRetryAfterMs: 10_000 } }, env(s));
    const exit = await Effect.runPromiseExit(rig.router.generate(openai, prompt("hi")));
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain('"reason":"rate_limited"');
    expect(s.requests).toHaveLength(1);
  });
});
