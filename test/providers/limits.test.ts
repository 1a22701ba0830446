/**
 * Outbound rate limits (issue 15): per-key `rpm` / `tpm` are kept before sending, so a call that
 * would exceed them goes to another key, falls back, or waits (per `whenLimited`); cooldowns and
 * counters are kept in the store and survive a restart. Against a local OpenAI-format server.
 */

import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Effect, Exit, Fiber, Layer, TestClock } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { makeSqlKeyStateStore } from "../../knowledge/key-state-sql.ts";
import { makePgliteClient, SqlClient } from "../../knowledge/sql-client.ts";
import { fingerprint } from "../../plugins/providers/errors.ts";
import { providersPlugin } from "../../plugins/providers/plugin.ts";
import { type ArborRuntime, makeAgentSystem } from "../../runtime/agent-system.ts";
import { seededDataDir } from "../support/seeded-data-dir.ts";
import { makeRig, prompt, run, useServers } from "./harness.ts";
import type { WireServer } from "./wire-server.ts";
import { openaiCompletion } from "./wire-server.ts";

const serve = useServers();

const completion = (content: string) => openaiCompletion(content, { tokens: [10, 5] });
const K1 = "sk-limits-test-key-0001";
const K2 = "sk-limits-test-key-0002";
const env = (s: WireServer, keys = `${K1},${K2}`) => ({
  OPENAI_API_KEYS: keys,
  OPENAI_BASE_URL: `${s.url}/v1`,
});
const openai = { provider: "openai", model: "gpt-4o-mini" };
const keyOf = (s: WireServer) =>
  s.requests.map((r) => (r.headers.authorization === `Bearer ${K1}` ? "k1" : "k2"));

describe("per-key rpm / tpm", () => {
  it("an rpm: 2 key spreads 4 calls over two keys and refuses a fifth within the minute", async () => {
    const s = await serve(() => ({ json: completion("ok") }));
    const rig = makeRig({ providers: { openai: { rpm: 2 } } }, env(s));
    await run(
      Effect.gen(function* () {
        for (let i = 0; i < 4; i++) yield* rig.router.generate(openai, prompt(`call ${i}`));
        const fifth = yield* Effect.flip(rig.router.generate(openai, prompt("fifth")));
        expect(fifth).toMatchObject({ reason: "rate_limited" });
        expect(fifth.message).toContain("rpm/tpm");
        yield* TestClock.adjust("60 seconds");
        yield* rig.router.generate(openai, prompt("a minute later"));
      }),
    );
    expect(keyOf(s)).toEqual(["k1", "k2", "k1", "k2", "k1"]);
  });

  it("sends the call to another key when the first would pass its tpm", async () => {
    const s = await serve(() => ({ json: completion("ok") }));
    const rig = makeRig({ providers: { openai: { tpm: 700 } } }, env(s));
    const big = { ...prompt("a long question"), maxTokens: 400 };
    await run(
      Effect.gen(function* () {
        yield* rig.router.generate(openai, big);
        yield* rig.router.generate(openai, big);
        const third = yield* Effect.flip(rig.router.generate(openai, big));
        expect(third).toMatchObject({ reason: "rate_limited" });
      }),
    );
    expect(keyOf(s)).toEqual(["k1", "k2"]);
  });

  it('waits for room with whenLimited: "wait"', async () => {
    const s = await serve(() => ({ json: completion("ok") }));
    const rig = makeRig(
      { providers: { openai: { rpm: 1, whenLimited: "wait" } }, routing: { maxRetryAfterMs: 120_000 } },
      env(s, K1),
    );
    const exit = await run(
      Effect.gen(function* () {
        yield* rig.router.generate(openai, prompt("first"));
        const second = yield* Effect.fork(rig.router.generate(openai, prompt("second")));
        while ((yield* TestClock.sleeps()).length === 0) yield* Effect.yieldNow();
        expect(s.requests).toHaveLength(1);
        yield* TestClock.adjust("60 seconds");
        return yield* Fiber.await(second);
      }),
    );
    expect(Exit.isSuccess(exit)).toBe(true);
    expect(s.requests).toHaveLength(2);
    expect(rig.events.find((e) => e.type === "provider.retry")).toMatchObject({
      reason: expect.stringContaining("rpm/tpm"),
    });
  });
});

describe("key state in the store", () => {
  const dirs: Array<string> = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("a cooling key and its counters survive a restart", async () => {
    const s = await serve(() => ({
      status: 429,
      headers: { "retry-after": "600" },
      json: { error: { message: "Rate limit reached" } },
    }));
    const dir = seededDataDir("arbor-keys-");
    dirs.push(dirname(dir));
    /** One "process": opens the database in `dir`, runs `use`, closes everything. */
    const life = <A>(
      use: (plugin: ReturnType<typeof providersPlugin>, system: ArborRuntime) => Effect.Effect<A, unknown>,
    ) =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const db = yield* Effect.acquireRelease(
              Effect.promise(() => PGlite.create(dir)),
              (d) => Effect.promise(() => d.close()),
            );
            const keyStore = yield* makeSqlKeyStateStore.pipe(
              Effect.provide(Layer.effect(SqlClient, makePgliteClient(db))),
            );
            const plugin = providersPlugin({ env: env(s, K1), keyStore });
            const system = yield* makeAgentSystem({ plugins: [plugin], config: { routing: { retries: 0 } } });
            return yield* use(plugin, system);
          }),
        ),
      );
    const spec = {
      name: "keys",
      root: { name: "root", kind: "child", model: { provider: "openai", model: "gpt-4o-mini" } },
    };
    const first = await life((plugin, system) =>
      Effect.gen(function* () {
        const tree = yield* system.spawnTree(spec);
        const asked = yield* Effect.either(system.ask(tree.root, "hello"));
        return { asked, status: yield* plugin.status() };
      }),
    );
    expect(first.asked._tag).toBe("Left");
    const cooling = (status: typeof first.status) =>
      status.providers.find((p) => p.name === "openai")!.keys[0];
    expect(cooling(first.status)).toMatchObject({ cooling: true, requests: 1, cooldowns: 1 });

    // a new process on the same data dir: the key is still cooling, and no request is sent
    const second = await life((plugin, system) =>
      Effect.gen(function* () {
        const status = yield* plugin.status();
        const tree = yield* system.spawnTree(spec);
        const asked = yield* Effect.either(system.ask(tree.root, "hello again"));
        return { asked, status };
      }),
    );
    expect(cooling(second.status)).toMatchObject({
      fingerprint: fingerprint(K1),
      cooling: true,
      requests: 1,
      cooldowns: 1,
    });
    expect(second.asked._tag).toBe("Left");
    expect(s.requests).toHaveLength(1);
  });
});
