/**
 * Configuration from file and environment, and the OTEL spans each call produces.
 */

import { trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { Either } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { loadProvidersConfig } from "../../plugins/providers/config.ts";
import { fingerprint } from "../../plugins/providers/errors.ts";
import { formatProviderStatus, providersStatusFromConfig } from "../../plugins/providers/status.ts";
import { makeRig, prompt, run, runFailure, useServers } from "./harness.ts";

describe("provider configuration", () => {
  it("reads <P>_API_KEYS, <P>_API_KEY and <P>_API_KEY_1..N, without duplicates", () => {
    const config = Either.getOrThrow(
      loadProvidersConfig(
        {},
        {
          GROQ_API_KEYS: "k-aaaa1111, k-bbbb2222",
          GROQ_API_KEY: "k-aaaa1111",
          GROQ_API_KEY_1: "k-cccc3333",
          GROQ_API_KEY_2: "k-dddd4444",
          GROQ_API_KEY_4: "k-skipped-after-gap",
        },
      ),
    );
    expect(config.providers.groq.keys).toEqual(["k-aaaa1111", "k-bbbb2222", "k-cccc3333", "k-dddd4444"]);
    expect(config.providers.groq.configured).toBe(true);
    expect(config.providers.openai.configured).toBe(false);
    expect(config.providers.openai.howToConfigure).toContain("OPENAI_API_KEY");
  });

  it("lets the environment win over the file, and the file over defaults", () => {
    const file = {
      providers: {
        openai: {
          apiKeys: ["sk-file-key-0001"],
          baseUrl: "http://127.0.0.1:9/v1",
          headers: { "OpenAI-Organization": "org-1" },
        },
        anthropic: { apiKey: "sk-ant-file-0002" },
        deepseek: { apiKey: "sk-ds-file-0003", enabled: false },
      },
      cache: { enabled: true, ttlMs: 1000 },
      budgets: { perTree: { maxTokens: 10 } },
    };
    const config = Either.getOrThrow(
      loadProvidersConfig(file, {
        OPENAI_API_KEY: "sk-env-key-0004",
        OLLAMA_BASE_URL: "http://127.0.0.1:11434",
      }),
    );
    expect(config.providers.openai.keys).toEqual(["sk-env-key-0004"]);
    expect(config.providers.openai.endpoint).toMatchObject({
      baseUrl: "http://127.0.0.1:9/v1",
      headers: { "OpenAI-Organization": "org-1" },
    });
    expect(config.providers.anthropic).toMatchObject({ configured: true, keys: ["sk-ant-file-0002"] });
    expect(config.providers.anthropic.endpoint.baseUrl).toBe("https://api.anthropic.com/v1");
    expect(config.providers.deepseek.configured).toBe(false);
    expect(config.providers.ollama).toMatchObject({
      configured: true,
      endpoint: { baseUrl: "http://127.0.0.1:11434" },
    });
    expect(config.cache).toEqual({ enabled: true, ttlMs: 1000, maxEntries: 1000 });
    expect(config.budgets.perTree).toEqual({ maxTokens: 10 });
    expect(Object.keys(config.profiles)).toEqual(["cheap", "balanced", "quality"]);
  });

  it("shows status from configuration alone, keys by fingerprint", async () => {
    const status = await run(
      providersStatusFromConfig(
        { providers: { anthropic: { apiKey: "sk-ant-status-0000ZZZZ" } } },
        { GROQ_API_KEY: "gsk-status-0000YYYY" },
      ),
    );
    const byName = Object.fromEntries(status.providers.map((p) => [p.name, p]));
    expect(byName.anthropic).toMatchObject({
      state: "available",
      keys: [{ fingerprint: fingerprint("sk-ant-status-0000ZZZZ"), cooling: false }],
    });
    expect(byName.groq).toMatchObject({
      state: "available",
      keys: [{ fingerprint: fingerprint("gsk-status-0000YYYY") }],
    });
    expect(byName.openai).toMatchObject({ state: "not_configured", keys: [] });
    const printed = formatProviderStatus(status);
    expect(printed).not.toContain("sk-ant-status-0000ZZZZ");
    expect(printed).toContain("set OPENAI_API_KEY");
  });

  it("lists every problem with its path", () => {
    const result = loadProvidersConfig(
      { providers: { opneai: { apiKey: "x" } }, profiles: { fast: [] }, cache: { ttlMs: -1 } },
      {},
    );
    expect(Either.isLeft(result)).toBe(true);
    const schemaProblems = Either.isLeft(result) ? result.left.problems : [];
    expect(schemaProblems.map((p) => p.path)).toContain("$.cache.ttlMs");
    const semantic = loadProvidersConfig(
      { providers: { opneai: { apiKey: "x" } }, profiles: { fast: [] } },
      {},
    );
    const problems = Either.isLeft(semantic) ? semantic.left.problems : [];
    expect(problems).toEqual([
      { path: "$.providers.opneai", message: expect.stringContaining("unknown provider") },
      { path: "$.profiles.fast", message: "a profile needs at least one candidate" },
    ]);
    if (Either.isLeft(semantic)) expect(semantic.left.fault).toBe("config");
  });
});

/** The real OTEL SDK, exporting finished spans to memory. */
const recordSpans = () => {
  const exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  return () =>
    exporter
      .getFinishedSpans()
      .map((s) => ({ name: s.name, attributes: s.attributes, status: s.status, ended: s.ended }));
};

describe("OTEL spans", () => {
  const serve = useServers();
  afterEach(() => trace.disable());

  it("records a GenAI client span per attempt, with usage, and the key only as a fingerprint", async () => {
    const finished = recordSpans();
    const key = "sk-span-test-key-9876";
    const s = await serve((_r, i) =>
      i === 0
        ? {
            json: {
              id: "c",
              object: "chat.completion",
              created: 1,
              model: "gpt-4o-mini",
              choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
              usage: { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 },
            },
          }
        : { status: 500, json: { error: { message: "boom" } } },
    );
    const { router } = makeRig({}, { OPENAI_API_KEY: key, OPENAI_BASE_URL: `${s.url}/v1` });
    await run(
      router.generate(
        { provider: "openai", model: "gpt-4o-mini", temperature: 0.7, maxTokens: 9 },
        prompt("Hi"),
      ),
    );
    await runFailure(router.generate({ provider: "openai", model: "gpt-4o-mini" }, prompt("Hi")));
    const spans = finished();
    expect(spans).toHaveLength(2);
    expect(spans[0]).toMatchObject({
      name: "chat gpt-4o-mini",
      ended: true,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.7,
        "gen_ai.request.max_tokens": 9,
        "gen_ai.usage.input_tokens": 4,
        "gen_ai.usage.output_tokens": 1,
        "arbor.key": fingerprint(key),
        "arbor.tree": "t1",
      },
    });
    expect(spans[1]).toMatchObject({
      ended: true,
      attributes: { "error.type": "server" },
      status: { code: 2 },
    });
    expect(JSON.stringify(spans)).not.toContain(key);
  });
});
