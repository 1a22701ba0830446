/**
 * The economic router: profiles and fallback chains, circuit breakers on TestClock, budgets,
 * the response cache, explicit providers it has no profile for (scripted), and hot reload.
 */

import { Effect, Either, Fiber, TestClock } from "effect";
import { describe, expect, it } from "vitest";
import { fingerprint } from "../../plugins/providers/errors.ts";
import { makeScriptedProvider } from "../../plugins/providers/scripted.ts";
import { providersStatus } from "../../plugins/providers/status.ts";
import { ctx, makeRig, prompt, replied, run, runFailure, useServers } from "./harness.ts";
import type { Reply, WireServer } from "./wire-server.ts";
import { openaiCompletion } from "./wire-server.ts";

const serve = useServers();

const completion = (content: string) => openaiCompletion(content, { tokens: [1000, 500], model: "m" });

/** One server playing two OpenAI-format providers: OpenAI under /openai, Groq under /groq. */
const twoProviders = async (openai: (i: number) => Reply, groq: (i: number) => Reply) => {
  let o = 0;
  let g = 0;
  const s = await serve((req) => (req.path.startsWith("/openai") ? openai(o++) : groq(g++)));
  return s;
};
const env = (s: WireServer) => ({
  OPENAI_API_KEY: "sk-openai-test-0001",
  OPENAI_BASE_URL: `${s.url}/openai/v1`,
  GROQ_API_KEY: "gsk-groq-test-0002",
  GROQ_BASE_URL: `${s.url}/groq/v1`,
});
const profiles = {
  cheap: [
    { provider: "openai", model: "gpt-4o-mini", inputCostPerMTok: 1, outputCostPerMTok: 2 },
    { provider: "groq", model: "llama-3.1-8b-instant", inputCostPerMTok: 0.5, outputCostPerMTok: 1 },
  ],
};
const ok = (text: string) => () => ({ json: completion(text) });
const fail500 = () => ({ status: 500, json: { error: { message: "internal error" } } });

describe("economic router", () => {
  it("serves a profile from its first candidate and prices the call", async () => {
    const s = await twoProviders(ok("from openai"), ok("from groq"));
    const { router, ledger, events } = makeRig({ profiles }, env(s));
    const res = await run(router.generate({ profile: "cheap" }, prompt("Hi")));
    expect(res).toMatchObject({ text: "from openai", provider: "openai", model: "gpt-4o-mini" });
    const [record] = await run(ledger.query());
    expect(record).toMatchObject({
      provider: "openai",
      costUsd: (1000 * 1 + 500 * 2) / 1e6,
      cached: false,
      address: "/t1/root",
    });
    expect(events.find((e) => e.type === "provider.call")).toMatchObject({
      outcome: "ok",
      costUsd: 0.002,
      tree: "t1",
    });
  });

  it("falls back down the chain on 5xx and says so in an event", async () => {
    const s = await twoProviders(fail500, ok("from groq"));
    const { router, events } = makeRig({ profiles }, env(s));
    const res = await run(router.generate({ profile: "cheap" }, prompt("Hi")));
    expect(res.provider).toBe("groq");
    expect(events.find((e) => e.type === "provider.fallback")).toMatchObject({
      from: "openai/gpt-4o-mini",
      to: "groq/llama-3.1-8b-instant",
      reason: "server",
    });
  });

  it("falls back when every key of the first provider is rate-limited", async () => {
    const s = await twoProviders(
      () => ({ status: 429, headers: { "retry-after": "3" }, json: { error: { message: "rl" } } }),
      ok("groq"),
    );
    const res = await run(makeRig({ profiles }, env(s)).router.generate({ profile: "cheap" }, prompt("Hi")));
    expect(res.provider).toBe("groq");
  });

  it("returns a non-retryable error (400) without trying the next candidate", async () => {
    const s = await twoProviders(
      () => ({ status: 400, json: { error: { message: "bad tool schema" } } }),
      ok("groq"),
    );
    const error = await runFailure(
      makeRig({ profiles }, env(s)).router.generate({ profile: "cheap" }, prompt("Hi")),
    );
    expect(error).toMatchObject({ reason: "bad_request", provider: "openai", retryable: false });
    expect(s.requests.every((r) => r.path.startsWith("/openai"))).toBe(true);
  });

  it("returns a typed RateLimited with the earliest retry when the whole chain is cooling", async () => {
    const limited = (seconds: string) => () => ({
      status: 429,
      headers: { "retry-after": seconds },
      json: { error: { message: "rl" } },
    });
    const s = await twoProviders(limited("20"), limited("4"));
    const error = await runFailure(
      makeRig({ profiles }, env(s)).router.generate({ profile: "cheap" }, prompt("Hi")),
    );
    expect(error).toMatchObject({ reason: "rate_limited", retryable: true, retryAfterMs: 4000 });
  });

  it("skips unconfigured candidates and names the variables when none is left", async () => {
    const s = await twoProviders(ok("openai"), ok("groq"));
    const res = await run(
      makeRig(
        { profiles },
        { GROQ_API_KEY: "gsk-only-groq-0003", GROQ_BASE_URL: `${s.url}/groq/v1` },
      ).router.generate({ profile: "cheap" }, prompt("Hi")),
    );
    expect(res.provider).toBe("groq");
    const error = await runFailure(
      makeRig({ profiles }, {}).router.generate({ profile: "cheap" }, prompt("Hi")),
    );
    expect(error).toMatchObject({ reason: "unavailable" });
    expect(error.message).toContain("OPENAI_API_KEY");
    expect(error.message).toContain("GROQ_API_KEY");
    const unknown = await runFailure(
      makeRig({ profiles }, {}).router.generate({ profile: "fancy" }, prompt("Hi")),
    );
    expect(unknown.message).toContain("no profile named fancy");
  });

  it("opens the circuit after N failures, half-opens after the cool-off, closes after M successes", async () => {
    let healthy = false;
    const s = await twoProviders(() => (healthy ? { json: completion("back") } : fail500()), ok("groq"));
    const config = {
      profiles,
      routing: { circuitFailureThreshold: 2, circuitCoolOffMs: 10_000, circuitSuccessThreshold: 2 },
    };
    const { router, events, hub } = makeRig(config, env(s));
    const explicit = { provider: "openai", model: "gpt-4o-mini" };
    const program = Effect.gen(function* () {
      yield* Effect.flip(router.generate(explicit, prompt("1")));
      yield* Effect.flip(router.generate(explicit, prompt("2")));
      const open = yield* Effect.flip(router.generate(explicit, prompt("3")));
      const viaProfile = yield* router.generate({ profile: "cheap" }, prompt("4"));
      const statusOpen = yield* providersStatus(hub);
      yield* TestClock.adjust("10 seconds");
      healthy = true;
      const trial1 = yield* router.generate(explicit, prompt("5"));
      const trial2 = yield* router.generate(explicit, prompt("6"));
      return { open, viaProfile, statusOpen, trial1, trial2 };
    });
    const { open, viaProfile, statusOpen, trial1, trial2 } = await run(program);
    expect(open).toMatchObject({ reason: "circuit_open", retryable: true, retryAfterMs: 10_000 });
    expect(viaProfile.provider).toBe("groq");
    expect(statusOpen.providers.find((p) => p.name === "openai")!.circuits).toEqual([
      { model: "gpt-4o-mini", state: "open" },
    ]);
    expect([trial1.text, trial2.text]).toEqual(["back", "back"]);
    expect(s.requests.filter((r) => r.path.startsWith("/openai"))).toHaveLength(4);
    expect(events.filter((e) => e.type.startsWith("circuit.")).map((e) => e.type)).toEqual([
      "circuit.opened",
      "circuit.half_open",
      "circuit.closed",
    ]);
  });

  it("a reload's breaker thresholds apply to breakers that already exist", async () => {
    const s = await twoProviders(() => fail500(), ok("groq"));
    const routing = (failures: number) => ({
      circuitFailureThreshold: failures,
      circuitCoolOffMs: 10_000,
      circuitSuccessThreshold: 1,
      retries: 0,
    });
    const { router, hub } = makeRig({ profiles, routing: routing(5) }, env(s));
    const explicit = { provider: "openai", model: "gpt-4o-mini" };
    const program = Effect.gen(function* () {
      yield* Effect.flip(router.generate(explicit, prompt("1")));
      yield* Effect.flip(router.generate(explicit, prompt("2")));
      const before = hub.breaker("openai", "gpt-4o-mini").state();
      const reloaded = hub.reload({ profiles, routing: routing(2) }, env(s));
      expect(Either.isRight(reloaded)).toBe(true);
      const third = yield* Effect.flip(router.generate(explicit, prompt("3")));
      const fourth = yield* Effect.flip(router.generate(explicit, prompt("4")));
      return { before, third, fourth };
    });
    const { before, third, fourth } = await run(program);
    expect(before).toBe("closed"); // 2 failures < 5
    expect(third.reason).toBe("server"); // the 3rd failure opens it under the new threshold of 2
    expect(fourth.reason).toBe("circuit_open");
  });

  it("enforces token and cost budgets per tree and per tenant", async () => {
    const s = await twoProviders(ok("a"), ok("b"));
    const budgets = { perTree: { maxTokens: 3000 }, tenants: { acme: { maxCostUsd: 0.001 } } };
    const { router, events } = makeRig({ profiles, budgets }, env(s));
    // tenant acme: one call costs $0.002 > $0.001, so the second is refused
    await run(router.generate({ profile: "cheap" }, prompt("1")));
    const tenant = await runFailure(router.generate({ profile: "cheap" }, prompt("2")));
    expect(tenant).toMatchObject({ reason: "budget_exceeded", retryable: false, fault: "user" });
    expect(events.find((e) => e.type === "budget.exceeded")).toMatchObject({
      scope: "tenant",
      limit: "$0.001",
    });
    // another tenant in another tree: 1500 tokens per call, the tree limit of 3000 stops the third
    const other = { ...ctx, tree: "t2", tenant: "globex" };
    await run(router.generate({ profile: "cheap" }, { ...prompt("1"), context: other }));
    await run(router.generate({ profile: "cheap" }, { ...prompt("2"), context: other }));
    const tree = await runFailure(router.generate({ profile: "cheap" }, { ...prompt("3"), context: other }));
    expect(tree.message).toContain("tree t2 used 3000 of 3000 tokens");
    expect(s.requests).toHaveLength(3);
  });

  it("answers repeated requests from the cache when enabled, until the TTL passes", async () => {
    const s = await twoProviders(ok("fresh"), ok("groq"));
    const rig = makeRig({ profiles, cache: { enabled: true, ttlMs: 60_000 } }, env(s));
    const { router, ledger } = rig;
    const program = Effect.gen(function* () {
      const a = yield* router.generate({ profile: "cheap" }, prompt("same"));
      yield* replied(rig); // the asking agent replied with it: now it is stored
      const b = yield* router.generate({ profile: "cheap" }, prompt("same"));
      yield* router.generate({ profile: "cheap" }, prompt("different"));
      yield* TestClock.adjust("61 seconds");
      yield* router.generate({ profile: "cheap" }, prompt("same"));
      return [a, b];
    });
    const [a, b] = await run(program);
    expect(b).toEqual({ ...a, costUsd: 0 });
    expect(s.requests).toHaveLength(3);
    const records = await run(ledger.query());
    expect(records.map((r) => r.cached)).toEqual([false, true, false, false]);
    expect(records[1]).toMatchObject({ costUsd: 0 });
  });

  it("does not cache by default", async () => {
    const s = await twoProviders(ok("x"), ok("y"));
    const { router } = makeRig({ profiles }, env(s));
    await run(router.generate({ profile: "cheap" }, prompt("same")));
    await run(router.generate({ profile: "cheap" }, prompt("same")));
    expect(s.requests).toHaveLength(2);
  });

  it("dispatches any registered provider by name, including scripted", async () => {
    const { router, ledger } = makeRig({ profiles }, {}, [makeScriptedProvider()]);
    const res = await run(
      router.generate(
        { provider: "scripted", options: { script: [{ text: "offline {{input}}" }] } },
        prompt("hello"),
      ),
    );
    expect(res.text).toBe("offline hello");
    expect((await run(ledger.query()))[0]).toMatchObject({ provider: "scripted", outcome: "ok" });
    const unknown = await runFailure(router.generate({ provider: "nope" }, prompt("hello")));
    expect(unknown).toMatchObject({ reason: "unavailable" });
    expect(unknown.message).toContain("scripted");
  });

  it("hot-reloads keys and profiles without dropping a call in flight", async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A slow first answer: the server holds request 0 until released.
    const slow = await serveSlow(released);
    const { router, hub } = makeRig(
      { profiles },
      { OPENAI_API_KEY: "sk-old-key-0000AAAA", OPENAI_BASE_URL: `${slow.url}/openai/v1` },
    );
    const program = Effect.gen(function* () {
      const inFlight = yield* Effect.fork(router.generate({ profile: "cheap" }, prompt("slow")));
      yield* Effect.promise(() => slow.firstArrived);
      const reloaded = hub.reload(
        { profiles: { cheap: [{ provider: "groq", model: "llama-3.1-8b-instant" }] } },
        { GROQ_API_KEY: "gsk-new-key-0000BBBB", GROQ_BASE_URL: `${slow.url}/groq/v1` },
      );
      release();
      const first = yield* Fiber.join(inFlight);
      const second = yield* router.generate({ profile: "cheap" }, prompt("after"));
      return { reloaded, first, second };
    });
    const { reloaded, first, second } = await run(program);
    expect(reloaded._tag).toBe("Right");
    expect(first.provider).toBe("openai");
    expect(second.provider).toBe("groq");
    expect(slow.auth).toEqual(["Bearer sk-old-key-0000AAAA", "Bearer gsk-new-key-0000BBBB"]);
    await slow.close();
  });

  it("keeps a cooling key cooling across a reload that keeps it", async () => {
    const s = await serve(() => ({
      status: 429,
      headers: { "retry-after": "30" },
      json: { error: { message: "rl" } },
    }));
    const env = { OPENAI_API_KEY: "sk-stays-0000DDDD", OPENAI_BASE_URL: `${s.url}/v1` };
    const { router, hub } = makeRig({}, env);
    const program = Effect.gen(function* () {
      yield* Effect.flip(router.generate({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi")));
      hub.reload({}, { ...env, OPENAI_API_KEYS: "sk-added-0000EEEE" });
      return yield* providersStatus(hub);
    });
    const status = await run(program);
    expect(status.providers.find((p) => p.name === "openai")!.keys).toEqual([
      expect.objectContaining({ fingerprint: fingerprint("sk-added-0000EEEE"), cooling: false }),
      expect.objectContaining({
        fingerprint: fingerprint("sk-stays-0000DDDD"),
        cooling: true,
        coolingUntil: 30_000,
        cooldowns: 1,
      }),
    ]);
  });

  it("keeps the old configuration when a reload is invalid", async () => {
    const { hub } = makeRig({ profiles }, { OPENAI_API_KEY: "sk-keep-0000CCCC" });
    const result = hub.reload({ providers: { opneai: { apiKey: "x" } } }, {});
    expect(result._tag).toBe("Left");
    expect(hub.state().config.providers.openai.configured).toBe(true);
  });
});

/** A server that holds its first answer until `released` resolves. */
const serveSlow = async (released: Promise<void>) => {
  const { createServer } = await import("node:http");
  const auth: Array<string> = [];
  let arrived: () => void = () => {};
  const firstArrived = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const server = createServer((req, res) => {
    auth.push(req.headers.authorization ?? "");
    req.resume();
    const answer = () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(completion("ok")));
    };
    if (auth.length === 1) {
      arrived();
      void released.then(answer);
    } else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    auth,
    firstArrived,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
