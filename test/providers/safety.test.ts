/**
 * Provider calls and the safety plugins together (issue 10): the cost of each call reaches the
 * tripwire monitor, so `maxCostUsd` / `maxTreeCostUsd` fire; the response cache keeps no answer
 * that a tripwire or guardrail rejected, and never serves a scripted agent its earlier steps.
 */

import { Effect, Queue } from "effect";
import { describe, expect, it } from "vitest";
import { providersPlugin } from "../../plugins/providers/plugin.ts";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { tripwiresPlugin } from "../../plugins/tripwires/plugin.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import type { Plugin } from "../../runtime/plugin.ts";
import { useServers } from "./harness.ts";
import { openaiCompletion } from "./wire-server.ts";

const serve = useServers();

// 1000 input + 1000 output tokens at $5 + $5 per million: $0.01 per call
const completion = (content: string) => openaiCompletion(content, { tokens: [1000, 1000] });

const priced = {
  profiles: {
    paid: [{ provider: "openai", model: "gpt-4o-mini", inputCostPerMTok: 5, outputCostPerMTok: 5 }],
  },
};

/** A supervisor with one worker, so a worker that a tripwire halts is restarted. */
const treeOf = (worker: Record<string, unknown>) => ({
  name: "spend",
  root: {
    name: "root",
    kind: "parent",
    model: worker.model ?? { profile: "paid" },
    children: [
      { name: "worker", kind: "child", instructions: "Answer.", model: { profile: "paid" }, ...worker },
    ],
  },
});

/**
 * Asks `inputs` in turn; returns each outcome (output or failure message) and the events seen.
 * After a failed ask that crashed the agent, waits for its restart before the next ask.
 */
const askAll = (
  plugins: ReadonlyArray<Plugin>,
  config: Record<string, unknown>,
  spec: Record<string, unknown>,
  inputs: ReadonlyArray<string>,
) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const system = yield* makeAgentSystem({ plugins, config });
        const events: Array<ArborEvent> = [];
        const restarts = yield* Queue.unbounded<void>();
        system.events.listen((e) => {
          events.push(e);
          if (e.type === "agent.restarted") Queue.unsafeOffer(restarts, undefined);
        });
        const tree = yield* system.spawnTree(spec);
        const outcomes: Array<string> = [];
        for (const input of inputs) {
          const result = yield* Effect.either(system.ask(`${tree.root}/worker`, input));
          outcomes.push(result._tag === "Right" ? result.right.output : `failed: ${result.left.message}`);
          if (result._tag === "Left" && events.some((e) => e.type === "agent.failed"))
            yield* Queue.take(restarts);
        }
        return { outcomes, events };
      }),
    ),
  );

describe("cost tripwires", () => {
  it.each(["maxCostUsd", "maxTreeCostUsd"])(
    "%s halts the agent once its spending passes the limit",
    async (limit) => {
      const s = await serve(() => ({ json: completion("paid answer") }));
      const providers = providersPlugin({
        env: { OPENAI_API_KEY: "sk-cost-0001", OPENAI_BASE_URL: `${s.url}/v1` },
      });
      const { outcomes, events } = await askAll(
        [providers, tripwiresPlugin],
        priced,
        treeOf({ tripwires: { [limit]: 0.015, action: "halt" } }),
        ["first", "second"],
      );
      expect(outcomes[0]).toBe("paid answer");
      expect(outcomes[1]).toMatch(/^failed: /);
      expect(events).toContainEqual(
        expect.objectContaining({ type: "tripwire.triggered", tripwire: limit, action: "halt" }),
      );
    },
  );
});

describe("the response cache and rejected answers", () => {
  const cached = { ...priced, cache: { enabled: true, ttlMs: 600_000 } };

  it("does not keep an answer a tripwire rejected: the restarted agent asks the provider again", async () => {
    const s = await serve((_req, i) => ({ json: completion(i === 0 ? "the SECRET plan" : "a safe answer") }));
    const providers = providersPlugin({
      env: { OPENAI_API_KEY: "sk-cache-0001", OPENAI_BASE_URL: `${s.url}/v1` },
    });
    const { outcomes } = await askAll(
      [providers, tripwiresPlugin],
      cached,
      treeOf({ tripwires: { outputPatterns: ["SECRET"], outputPatternAction: "halt" } }),
      ["the plan?"],
    );
    // The halted worker restarts and retries the ask; the rejected answer is not served again.
    expect(outcomes).toEqual(["a safe answer"]);
    expect(s.requests).toHaveLength(2);
  });

  it("still answers an accepted question from the cache", async () => {
    const s = await serve(() => ({ json: completion("a fine answer") }));
    const providers = providersPlugin({
      env: { OPENAI_API_KEY: "sk-cache-0002", OPENAI_BASE_URL: `${s.url}/v1` },
    });
    const { outcomes, events } = await askAll([providers, tripwiresPlugin], cached, treeOf({}), [
      "same?",
      "same?",
    ]);
    expect(outcomes).toEqual(["a fine answer", "a fine answer"]);
    expect(s.requests).toHaveLength(1);
    expect(events.filter((e) => e.type === "provider.call").map((e) => "cached" in e && e.cached)).toEqual([
      false,
      true,
    ]);
  });

  it("never serves a scripted agent an earlier step from the cache", async () => {
    const { outcomes } = await askAll(
      [scriptedPlugin, providersPlugin({ env: {} })],
      { cache: { enabled: true } },
      treeOf({ model: { provider: "scripted", script: [{ text: "step one" }, { text: "step two" }] } }),
      ["again", "again"],
    );
    expect(outcomes).toEqual(["step one", "step two"]);
  });
});
