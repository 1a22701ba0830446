/**
 * The "done when": the providers plugin loaded into a real runtime, an agent spec naming
 * `{ "provider": "openai", "model": … }` or `{ "profile": "cheap" }`, two OpenAI keys and a server
 * answering 429 to the first: the ask succeeds on the second key and status shows the first cooling.
 */

import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { fingerprint } from "../../plugins/providers/errors.ts";
import { providersPlugin } from "../../plugins/providers/plugin.ts";
import { formatProviderStatus } from "../../plugins/providers/status.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import { useServers } from "./harness.ts";
import { openaiCompletion } from "./wire-server.ts";

const KEY1 = "sk-system-test-key-0000FIRST";
const KEY2 = "sk-system-test-key-000SECOND";
const serve = useServers();

const completion = (content: string) => openaiCompletion(content);

const spec = (model: Record<string, unknown>) => ({
  name: "demo",
  root: { name: "root", kind: "child", instructions: "Answer briefly.", model },
});

describe("providers plugin in a runtime", () => {
  it.each([
    ["an explicit provider", { provider: "openai", model: "gpt-4o-mini" }],
    ["a profile", { profile: "cheap" }],
  ])("serves %s, rotating past a 429 key and showing it cooling", async (_label, model) => {
    const s = await serve((req) =>
      req.headers.authorization === `Bearer ${KEY1}`
        ? {
            status: 429,
            headers: { "retry-after": "60" },
            json: { error: { message: "Rate limit reached" } },
          }
        : { json: completion("hello from key two") },
    );
    const plugin = providersPlugin({
      env: { OPENAI_API_KEYS: `${KEY1},${KEY2}`, OPENAI_BASE_URL: `${s.url}/v1` },
    });
    const config = {
      profiles: {
        cheap: [{ provider: "openai", model: "gpt-4o-mini", inputCostPerMTok: 0.15, outputCostPerMTok: 0.6 }],
      },
    };
    const program = Effect.scoped(
      Effect.gen(function* () {
        const system = yield* makeAgentSystem({ plugins: [plugin], config });
        const tree = yield* system.spawnTree(spec(model));
        const reply = yield* system.ask(tree.root, "Say hello");
        const status = yield* plugin.status();
        const totals = yield* plugin.ledger.totals({ tree: tree.treeId });
        return { reply, status, totals };
      }),
    );
    const { reply, status, totals } = await Effect.runPromise(program);
    expect(reply.output).toBe("hello from key two");
    const openai = status.providers.find((p) => p.name === "openai")!;
    expect(openai.keys.map((k) => [k.fingerprint, k.cooling])).toEqual([
      [fingerprint(KEY1), true],
      [fingerprint(KEY2), false],
    ]);
    expect(totals).toMatchObject({ calls: 2, errors: 1, inputTokens: 3, outputTokens: 2 });
    const printed = formatProviderStatus(status);
    expect(printed).toMatch(/openai\s+available/);
    expect(printed).toMatch(new RegExp(`key ${fingerprint(KEY1)}\\s+cooling`));
    expect(printed).not.toContain(KEY1);
    expect(printed).not.toContain(KEY2);
    expect(s.requests[1]!.body).toMatchObject({
      messages: [{ role: "system", content: "Answer briefly." }, { role: "user" }],
    });
  });

  it("accepts the gemini alias in a spec and calls the Gemini API", async () => {
    const s = await serve(() => ({
      json: {
        candidates: [{ content: { role: "model", parts: [{ text: "hallo" }] }, finishReason: "STOP" }],
        usageMetadata: { promptTokenCount: 2, candidatesTokenCount: 1, totalTokenCount: 3 },
      },
    }));
    const plugin = providersPlugin({
      env: { GEMINI_API_KEY: "AIza-system-0000GGGG", GEMINI_BASE_URL: `${s.url}/v1beta` },
    });
    const program = Effect.scoped(
      Effect.gen(function* () {
        const system = yield* makeAgentSystem({ plugins: [plugin] });
        const tree = yield* system.spawnTree(spec({ provider: "gemini", model: "gemini-2.0-flash" }));
        return yield* system.ask(tree.root, "Hallo?");
      }),
    );
    expect((await Effect.runPromise(program)).output).toBe("hallo");
    expect(s.requests[0]!.path).toBe("/v1beta/models/gemini-2.0-flash:generateContent");
  });

  it("refuses to load with an invalid providers section, naming the problem", async () => {
    const plugin = providersPlugin({ env: {} });
    const exit = await Effect.runPromiseExit(
      Effect.scoped(makeAgentSystem({ plugins: [plugin], config: { providers: { openia: {} } } })),
    );
    expect(exit._tag).toBe("Failure");
    expect(JSON.stringify(exit)).toContain("unknown provider");
  });

  it("hot-reloads keys through the plugin handle", async () => {
    const s = await serve(() => ({ json: completion("ok") }));
    const env: Record<string, string> = { OPENAI_BASE_URL: `${s.url}/v1` };
    const plugin = providersPlugin({ env });
    const program = Effect.scoped(
      Effect.gen(function* () {
        yield* makeAgentSystem({ plugins: [plugin] });
        const before = yield* plugin.status();
        env.OPENAI_API_KEY = "sk-added-later-0000NEW1";
        const after = yield* plugin.reload();
        return { before, after };
      }),
    );
    const { before, after } = await Effect.runPromise(program);
    expect(before.providers.find((p) => p.name === "openai")).toMatchObject({ state: "not_configured" });
    expect(before.providers.find((p) => p.name === "openai")!.hint).toContain("OPENAI_API_KEY");
    expect(after.providers.find((p) => p.name === "openai")).toMatchObject({
      state: "available",
      keys: [expect.objectContaining({ fingerprint: fingerprint("sk-added-later-0000NEW1") })],
    });
  });
});
