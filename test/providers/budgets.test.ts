/**
 * Quotas (issue 15): budgets per tenant and tree with windows (`per: "day"|"month"`) kept in the
 * usage ledger, so they hold across restarts; concurrent calls reserve their estimated cost first,
 * so a window is overshot by at most one call's estimate error. Against a local OpenAI-format server.
 */

import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Effect, Layer, TestClock } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { makePgliteClient, SqlClient } from "../../knowledge/sql-client.ts";
import { makeSqlUsageLedger } from "../../knowledge/usage-ledger-sql.ts";
import { providersPlugin } from "../../plugins/providers/plugin.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import { seededDataDir } from "../support/seeded-data-dir.ts";
import { ctx, makeRig, prompt, run, useServers } from "./harness.ts";
import type { WireServer } from "./wire-server.ts";
import { openaiCompletion } from "./wire-server.ts";

const serve = useServers();

/** Each answer uses 110 output tokens: at $100 per million, $0.011 (estimated at maxTokens 100: $0.010). */
const completion = (content: string) => openaiCompletion(content, { tokens: [0, 110] });
const profiles = {
  paid: [{ provider: "openai", model: "gpt-4o-mini", inputCostPerMTok: 0, outputCostPerMTok: 100 }],
};
const env = (s: WireServer) => ({ OPENAI_API_KEY: "sk-budget-test-0001", OPENAI_BASE_URL: `${s.url}/v1` });
const paid = { profile: "paid" };
const ask = (text: string) => ({ ...prompt(text), maxTokens: 100 });
const LIMIT = 0.05;
const ESTIMATE = 0.01;

describe("windowed budgets", () => {
  it("16 concurrent calls against a budget overshoot it by at most one call's estimate", async () => {
    const s = await serve(() => ({ json: completion("ok") }));
    const rig = makeRig(
      { profiles, budgets: { tenants: { acme: { maxCostUsd: LIMIT, per: "day" } } } },
      env(s),
    );
    const outcomes = await run(
      Effect.all(
        Array.from({ length: 16 }, (_, i) => Effect.either(rig.router.generate(paid, ask(`call ${i}`)))),
        { concurrency: "unbounded" },
      ),
    );
    const spent = (await run(rig.ledger.totals({ tenant: "acme" }))).costUsd;
    const refused = outcomes.filter((o) => o._tag === "Left");
    expect(refused.length).toBeGreaterThan(0);
    for (const o of refused) expect(o._tag === "Left" && o.left.reason).toBe("budget_exceeded");
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(LIMIT + ESTIMATE);
    expect(s.requests.length).toBe(16 - refused.length);
  });

  it("opens a new window each day", async () => {
    const s = await serve(() => ({ json: completion("ok") }));
    const rig = makeRig({ profiles, budgets: { perTree: { maxCostUsd: 0.025, per: "day" } } }, env(s));
    await run(
      Effect.gen(function* () {
        yield* rig.router.generate(paid, ask("one"));
        yield* rig.router.generate(paid, ask("two"));
        const third = yield* Effect.flip(rig.router.generate(paid, ask("three")));
        expect(third.message).toContain(`tree ${ctx.tree} spent $0.022000 of $0.025 this day`);
        yield* TestClock.adjust("1 day");
        yield* rig.router.generate(paid, ask("tomorrow"));
      }),
    );
    expect(s.requests).toHaveLength(3);
  });

  describe("across a restart", () => {
    const dirs: Array<string> = [];
    afterEach(() => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    });

    it("a daily tenant budget refuses the call past it and still refuses after a server restart", async () => {
      const s = await serve(() => ({ json: completion("ok") }));
      const dir = seededDataDir("arbor-budget-");
      dirs.push(dirname(dir));
      const config = { profiles, budgets: { tenants: { acme: { maxCostUsd: 0.025, per: "day" } } } };
      const spec = {
        name: "quota",
        root: { name: "root", kind: "child", model: { profile: "paid", maxTokens: 100 } },
      };
      /** One server life: the database in `dir`, the SQL ledger in it, asks `inputs` as tenant acme. */
      const life = (inputs: ReadonlyArray<string>) =>
        Effect.runPromise(
          Effect.scoped(
            Effect.gen(function* () {
              const db = yield* Effect.acquireRelease(
                Effect.promise(() => PGlite.create(dir)),
                (d) => Effect.promise(() => d.close()),
              );
              const ledger = yield* makeSqlUsageLedger.pipe(
                Effect.provide(Layer.effect(SqlClient, makePgliteClient(db))),
              );
              const plugin = providersPlugin({ env: env(s), ledger });
              const system = yield* makeAgentSystem({ plugins: [plugin], config });
              const tree = yield* system.spawnTree(spec, { tenant: "acme" });
              const outcomes: Array<string> = [];
              for (const input of inputs) {
                const r = yield* Effect.either(system.ask(tree.root, input));
                outcomes.push(r._tag === "Right" ? r.right.output : r.left.message);
              }
              return outcomes;
            }),
          ),
        );
      const first = await life(["one", "two", "three"]);
      expect(first.slice(0, 2)).toEqual(["ok", "ok"]);
      expect(first[2]).toContain("tenant acme spent $0.022000 of $0.025 this day");
      const afterRestart = await life(["four"]);
      expect(afterRestart[0]).toContain("tenant acme spent $0.022000 of $0.025 this day");
      expect(s.requests).toHaveLength(2);
    });
  });
});
