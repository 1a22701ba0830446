/**
 * Any OpenAI-compatible endpoint by name (issue 15): `providers.<name>: { kind: "openai-compatible",
 * baseUrl, apiKeyEnv?, models, prices }` beside the built-in providers, usable in specs, profiles
 * and fallbacks. Each endpoint is a local server speaking the OpenAI chat-completions format.
 */
import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { loadProvidersConfig } from "../../plugins/providers/config.ts";
import { providersPlugin } from "../../plugins/providers/plugin.ts";
import { formatProviderStatus } from "../../plugins/providers/status.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import { makeRig, prompt, run, useServers } from "./harness.ts";

const serve = useServers();

const completion = (model: string, content: string) => ({
  id: "c1",
  object: "chat.completion",
  created: 1,
  model,
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1000, completion_tokens: 1000, total_tokens: 2000 },
});

const vllm = (baseUrl: string, more: Record<string, unknown> = {}) => ({
  kind: "openai-compatible",
  baseUrl,
  models: ["qwen2.5-7b-instruct", "llama-3.1-8b"],
  prices: { "qwen2.5-7b-instruct": { inputCostPerMTok: 0.1, outputCostPerMTok: 0.2 } },
  ...more,
});

describe("custom OpenAI-compatible providers", () => {
  it("a custom vllm provider and openai answer in the same run", async () => {
    const local = await serve((req) => ({
      json: completion((req.body as { model: string }).model, "from vllm"),
    }));
    const cloud = await serve(() => ({ json: completion("gpt-4o-mini", "from openai") }));
    const plugin = providersPlugin({
      env: { OPENAI_API_KEY: "sk-openai-custom-test-01", OPENAI_BASE_URL: `${cloud.url}/v1` },
    });
    const config = { providers: { vllm: vllm(`${local.url}/v1`) } };
    const spec = {
      name: "mixed",
      root: {
        name: "lead",
        kind: "parent",
        model: { provider: "vllm" },
        children: [{ name: "cloud", kind: "child", model: { provider: "openai", model: "gpt-4o-mini" } }],
      },
    };
    const { answers, status, totals } = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const system = yield* makeAgentSystem({ plugins: [plugin], config });
          const tree = yield* system.spawnTree(spec);
          const fromLocal = yield* system.ask(`${tree.root}/cloud`, "cloud, please");
          const fromLead = yield* system.ask(tree.root, "lead, please");
          return {
            answers: [fromLocal.output, fromLead.output],
            status: yield* plugin.status(),
            totals: yield* plugin.ledger.groups({ tree: tree.treeId }, "model"),
          };
        }),
      ),
    );
    expect(answers[0]).toBe("from openai");
    expect(answers[1]).toContain("from vllm");
    // the first model listed is the default; no key is sent to a keyless local server
    expect(local.requests[0]!.body).toMatchObject({ model: "qwen2.5-7b-instruct" });
    expect(local.requests[0]!.headers.authorization).toBeUndefined();
    expect(totals.find((g) => g.key === "vllm/qwen2.5-7b-instruct")).toMatchObject({ costUsd: 0.0003 });
    expect(formatProviderStatus(status)).toMatch(/^vllm\s+available\s+http:\/\/127\.0\.0\.1:\d+\/v1$/m);
  });

  it("serves profiles and fallbacks, and sends the key named by apiKeyEnv", async () => {
    const local = await serve(() => ({ status: 503, json: { error: { message: "loading model" } } }));
    const cloud = await serve(() => ({ json: completion("gpt-4o-mini", "fell back to openai") }));
    const rig = makeRig(
      {
        providers: { vllm: vllm(`${local.url}/v1`, { apiKeyEnv: "VLLM_API_KEY", retries: 0 }) },
        profiles: {
          local: [
            { provider: "vllm", model: "llama-3.1-8b" },
            { provider: "openai", model: "gpt-4o-mini" },
          ],
        },
      },
      {
        VLLM_API_KEY: "vllm-secret-0001",
        OPENAI_API_KEY: "sk-openai-0002",
        OPENAI_BASE_URL: `${cloud.url}/v1`,
      },
    );
    const res = await run(rig.router.generate({ profile: "local" }, prompt("hi")));
    expect(res.text).toBe("fell back to openai");
    expect(local.requests[0]!.headers.authorization).toBe("Bearer vllm-secret-0001");
    expect(local.requests[0]!.body).toMatchObject({ model: "llama-3.1-8b" });
    expect(rig.events.find((e) => e.type === "provider.fallback")).toMatchObject({
      from: "vllm/llama-3.1-8b",
      to: "openai/gpt-4o-mini",
    });
  });

  it("refuses a model the endpoint does not list, and explains an unknown name", async () => {
    const local = await serve(() => ({ json: completion("x", "never") }));
    const rig = makeRig({ providers: { vllm: vllm(`${local.url}/v1`) } }, {});
    const wrong = await run(
      Effect.flip(rig.router.generate({ provider: "vllm", model: "gpt-5" }, prompt("hi"))),
    );
    expect(wrong.message).toContain("vllm serves qwen2.5-7b-instruct, llama-3.1-8b");
    expect(local.requests).toHaveLength(0);

    const typo = loadProvidersConfig({ providers: { vllm: { baseUrl: "http://x" } } }, {});
    expect(Either.isLeft(typo) && typo.left.problems[0]).toMatchObject({
      path: "$.providers.vllm",
      message: expect.stringContaining('"kind": "openai-compatible"'),
    });
    const incomplete = loadProvidersConfig(
      { providers: { vllm: { kind: "openai-compatible", models: [] } } },
      {},
    );
    expect(Either.isLeft(incomplete) && incomplete.left.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(["$.providers.vllm.baseUrl", "$.providers.vllm.models"]),
    );
    const taken = loadProvidersConfig({ providers: { openai: vllm("http://x") } }, {});
    expect(Either.isLeft(taken) && taken.left.problems[0]!.message).toContain("built-in provider's name");
  });
});
