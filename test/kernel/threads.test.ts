import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { guardrailsPlugin } from "../../plugins/guardrails/plugin.ts";
import { providersPlugin } from "../../plugins/providers/plugin.ts";
import { appendExchange } from "../../runtime/agent/thread.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import { useServers } from "../providers/harness.ts";
import { openaiCompletion } from "../providers/wire-server.ts";
import { count, makeTestSystem, run, waitFor } from "./support.ts";

const serve = useServers();

const completion = (content: string) => openaiCompletion(content);

type Sent = { messages: Array<{ role: string; content: string }> };

describe("threads", () => {
  it("an ask on a thread carries its earlier exchanges to the provider, through the input guardrails", async () => {
    let n = 0;
    const server = await serve(() => ({ json: completion(`answer ${++n}`) }));
    const plugins = [
      guardrailsPlugin,
      providersPlugin({
        env: { OPENAI_API_KEY: "sk-thread-test-0000KEY1", OPENAI_BASE_URL: `${server.url}/v1` },
      }),
    ];
    const history = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const system = yield* makeAgentSystem({ plugins });
          const tree = yield* system.spawnTree({
            name: "chat",
            root: {
              name: "a",
              kind: "child",
              instructions: "Be brief.",
              history: { maxMessages: 10 },
              model: { provider: "openai", model: "gpt-4o-mini" },
            },
          });
          yield* system.ask(tree.root, "my mail is ada@example.com", { thread: "t1" });
          yield* system.ask(tree.root, "unrelated", { thread: "t2" });
          yield* system.ask(tree.root, "what did I say?", { thread: "t1" });
          return yield* system.history(tree.root, "t1");
        }),
      ),
    );
    const sent = server.requests.map((r) => (r.body as Sent).messages.map((m) => `${m.role}: ${m.content}`));
    expect(sent[1]).toEqual(["system: Be brief.", "user: unrelated"]);
    expect(sent[2]).toEqual([
      "system: Be brief.",
      "user: my mail is [EMAIL]", // the remembered text passes the input guardrails again
      "assistant: answer 1",
      "user: what did I say?",
    ]);
    expect(history).toEqual([
      { role: "user", content: "my mail is ada@example.com" },
      { role: "assistant", content: "answer 1" },
      { role: "user", content: "what did I say?" },
      { role: "assistant", content: "answer 3" },
    ]);
  });

  it("history survives a restart of the agent, and an agent without `history` keeps none", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree({
          name: "h",
          root: {
            name: "sup",
            kind: "parent",
            model: { provider: "scripted", script: [{ text: "ok" }] },
            supervision: { backoff: { minMs: 1, maxMs: 2 } },
            children: [
              {
                name: "mem",
                kind: "child",
                history: { maxMessages: 4 },
                model: { provider: "scripted", script: [{ text: "re: {{input}}" }] },
              },
              {
                name: "plain",
                kind: "child",
                model: { provider: "scripted", script: [{ text: "re: {{input}}" }] },
              },
            ],
          },
        });
        for (const q of ["one", "two", "three"]) yield* system.ask("/h/sup/mem", q, { thread: "x" });
        yield* system.ask("/h/sup/plain", "one", { thread: "x" });
        yield* system.killAgent("/h/sup/mem", "drill");
        yield* waitFor(events, (es) => count(es, "agent.restarted", "/h/sup/mem") === 1);
        expect((yield* system.history("/h/sup/mem", "x")).map((m) => m.content)).toEqual([
          "two",
          "re: two",
          "three",
          "re: three",
        ]);
        expect(yield* system.history("/h/sup/plain", "x")).toEqual([]);
      }),
    );
  });

  it("bounds a thread by messages and by estimated tokens, dropping the oldest first", () => {
    const m = (content: string) => ({ role: "user" as const, content });
    const limits = { maxMessages: 3, maxTokens: 1000 };
    expect(appendExchange([m("a"), m("b")], [m("c"), m("d")], limits).map((x) => x.content)).toEqual([
      "b",
      "c",
      "d",
    ]);
    const long = "x".repeat(400); // ~100 tokens
    expect(appendExchange([m(long), m(long)], [m(long)], { maxMessages: 10, maxTokens: 250 }).length).toBe(2);
  });
});
