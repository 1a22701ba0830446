/**
 * Extending Arbor without Effect: `tool()` with zod, Standard Schema or JSON Schema parameters and
 * an async `execute`, plain-object plugins with an async setup, and `createArbor` options that
 * configure (or replace) the default plugins.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createArbor, providersPlugin, tool } from "../../index.ts";
import type { ArborEvent } from "../../runtime/events.ts";

const callingTree = (name: string, args: unknown) => ({
  name: "authoring",
  root: {
    name: "lead",
    kind: "child" as const,
    tools: { allow: [name] },
    model: {
      provider: "scripted",
      script: [{ toolCalls: [{ name, args }] }, { text: "tool said: {{tool}}" }],
    },
  },
});

const results = (events: ReadonlyArray<ArborEvent>) =>
  events.flatMap((e) => (e.type === "tool.result" ? [{ ok: e.ok, result: String(e.result) }] : []));

describe("tool() without Effect", () => {
  it("a JSON Schema tool validates the model's arguments: a wrong type comes back as an error result", async () => {
    const double = tool({
      name: "double",
      description: "doubles n",
      parameters: { type: "object", properties: { n: { type: "number" } }, required: ["n"] },
      execute: async (args) => String(Number(args.n) * 2),
    });
    const arbor = await createArbor({ customTools: [double] });
    const events: ArborEvent[] = [];
    arbor.onEvent((e) => events.push(e));
    const good = await arbor.run(callingTree("double", { n: 21 }), { input: "go" });
    expect(good.output).toBe("tool said: 42");
    await arbor.run({ ...callingTree("double", { n: "x" }), name: "authoring-bad" }, { input: "go" });
    await arbor.close();
    expect(results(events)[1]).toMatchObject({ ok: false });
    expect(results(events)[1]!.result).toMatch(/invalid arguments: n: .*number/i);
  });

  it("execute's signal aborts when the call times out, and the model gets the timeout", async () => {
    let aborted: Promise<string> | undefined;
    const slow = tool({
      name: "slow",
      description: "never finishes by itself",
      parameters: z.object({}),
      timeoutMs: 50,
      execute: (_args, { signal }) => {
        aborted = new Promise((resolve) => signal.addEventListener("abort", () => resolve("aborted")));
        return new Promise(() => {});
      },
    });
    const arbor = await createArbor({ customTools: [slow] });
    const summary = await arbor.run(callingTree("slow", {}), { input: "go" });
    await arbor.close();
    expect(summary.status).toBe("completed");
    expect(await aborted).toBe("aborted");
  });
});

describe("plugins and createArbor options", () => {
  it("a plain-object plugin with an async setup registers a handler; its cleanup runs on close", async () => {
    let cleaned = false;
    const arbor = await createArbor({
      plugins: [
        {
          name: "shout",
          version: "1.0.0",
          setup: async (host) => {
            await host.handler("shout", { initial: () => null, handle: (s, m: string) => [s, `${m}!`] });
            return () => {
              cleaned = true;
            };
          },
        },
      ],
    });
    const tree = await arbor.spawn({ name: "s", root: { name: "m", kind: "micro", handler: "shout" } });
    expect((await arbor.ask(tree.root, "hey")).output).toBe("hey!");
    expect(cleaned).toBe(false);
    await arbor.close();
    expect(cleaned).toBe(true);
  });

  it("providersPlugin() passed to createArbor replaces the default one instead of failing as loaded twice", async () => {
    const arbor = await createArbor({ plugins: [providersPlugin({ env: {} })] });
    const summary = await arbor.run({
      name: "p",
      root: {
        name: "r",
        kind: "child",
        input: "x",
        model: { provider: "scripted", script: [{ text: "ok" }] },
      },
    });
    await arbor.close();
    expect(summary.output).toBe("ok");
  });

  it("a config section given as an option configures its default plugin", async () => {
    const arbor = await createArbor({ guardrails: { pii: "always" } });
    const events: ArborEvent[] = [];
    arbor.onEvent((e) => events.push(e));
    await arbor.run(
      {
        name: "g",
        root: { name: "r", kind: "child", model: { provider: "scripted", script: [{ text: "ok" }] } },
      },
      { input: "mail me at someone@example.com" },
    );
    await arbor.close();
    expect(events.map((e) => e.type)).toContain("guardrail.redacted");
  });
});
