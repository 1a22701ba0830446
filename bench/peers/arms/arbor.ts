/**
 * Arbor's arm: the public Promise API (`createArbor`) with the default plugins, a model provider
 * plugin wrapping the fake model, `tool()` for W2, a workflow for W3, handler micro agents for W4.
 */
import { Effect, Stream } from "effect";
// The built package (dist/, what `npm install arbor-agents` gives), as the peers run their published
// JavaScript: through tsx, the sources would carry its transpilation's helpers into the timed code.
import {
  type ArborTreeSpec,
  type ChatMessage,
  createArbor,
  type ModelProvider,
  type ModelRequest,
  type ModelResponse,
  tool,
} from "../../../dist/index.js";
import type { Arm, Prepared } from "../arm.ts";
import { type FakeMessage, fakeAnswer, fakeUsage, lookup } from "../fake-model.ts";

const toFake = (m: ChatMessage): FakeMessage => ({ role: m.role, content: m.content });

// Plain literals, as the peers' adapters build their responses: `{ ...base, text }` (a literal that
// starts with a spread and goes on) is V8's slow path on Node 20, ~1.5 µs a call.
const answer = (request: ModelRequest): ModelResponse => {
  const a = fakeAnswer(request.messages.map(toFake), (request.tools?.length ?? 0) > 0);
  return a.kind === "text"
    ? {
        text: a.text,
        toolCalls: [],
        finishReason: "stop",
        usage: fakeUsage,
        provider: "fake",
        model: request.model,
      }
    : {
        text: "",
        toolCalls: [{ id: "call_1", name: a.name, args: a.args }],
        finishReason: "tool_calls",
        usage: fakeUsage,
        provider: "fake",
        model: request.model,
      };
};

const fakeProvider: ModelProvider = {
  name: "fake",
  generate: (request) => Effect.sync(() => answer(request)),
  stream: (request) =>
    Stream.fromIterable(
      (() => {
        const r = answer(request);
        return [
          ...(r.text ? [{ type: "text-delta" as const, text: r.text }] : []),
          ...r.toolCalls.map((call) => ({ type: "tool-call" as const, call })),
          { type: "finish" as const, usage: r.usage, finishReason: r.finishReason },
        ];
      })(),
    ),
};

const lookupTool = tool({
  name: "lookup",
  description: "looks a thing up",
  parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] } as const,
  execute: async ({ q }) => lookup(String(q)),
});

const open = () =>
  createArbor({
    plugins: [{ name: "fake-model", version: "1.0.0", setup: (host) => host.provider(fakeProvider) }],
    customTools: [lookupTool],
  });

const model = { provider: "fake", model: "fake-1" };
const oneAgent = (name: string, tools = false): ArborTreeSpec => ({
  name,
  root: { name: "agent", kind: "child", model, ...(tools ? { tools: { allow: ["lookup"] } } : {}) },
});

const workers = Array.from({ length: 8 }, (_, i) => `w${i}`);
const fanout: ArborTreeSpec = {
  name: "fanout",
  root: {
    name: "coordinator",
    kind: "parent",
    model,
    children: [...workers, "summarizer"].map((name) => ({ name, kind: "child" as const, model })),
  },
  workflow: {
    concurrency: 8,
    steps: [
      ...workers.map((w, i) => ({ id: w, agent: w, input: `{{input}} part ${i}` })),
      {
        id: "summary",
        agent: "summarizer",
        input: workers.map((w) => `{{steps.${w}.output}}`).join(" | "),
        dependsOn: workers,
      },
    ],
  },
};

/** Arbor, through `createArbor`. */
export const arm: Arm = {
  prepare: async (workload): Promise<Prepared> => {
    const arbor = await open();
    const close = () => arbor.close();
    switch (workload) {
      case "W1.seq": {
        const { root } = await arbor.spawn(oneAgent("w1"));
        return { op: async () => ((await arbor.ask(root, "hello")).output ? 1 : 0), close };
      }
      case "W1.c16": {
        const { root } = await arbor.spawn(oneAgent("w1"));
        const askers = Array.from({ length: 16 }, (_, i) => i);
        return {
          op: async () => (await Promise.all(askers.map((i) => arbor.ask(root, `hello ${i}`)))).length,
          close,
        };
      }
      case "W1.a16": {
        const roots = await Promise.all(Array.from({ length: 16 }, (_, i) => arbor.spawn(oneAgent(`a${i}`))));
        return {
          op: async () => (await Promise.all(roots.map((t) => arbor.ask(t.root, "hello")))).length,
          close,
        };
      }
      case "W2.tool": {
        const { root } = await arbor.spawn(oneAgent("w2", true));
        return {
          op: async () =>
            (await arbor.ask(root, "lookup lisbon")).output === "answer: found lisbon" ? 1 : 0,
          close,
        };
      }
      case "W3.fanout": {
        const { treeId } = await arbor.spawn(fanout);
        return {
          op: async () => ((await arbor.runWorkflow(treeId, "task")).status === "completed" ? 1 : 0),
          close,
        };
      }
      case "W4.cheap100": {
        const children = Array.from({ length: 100 }, (_, i) => ({
          name: `m${i}`,
          kind: "micro" as const,
          handler: "upper",
        }));
        const { root } = await arbor.spawn({
          name: "cheap",
          root: { name: "hub", kind: "parent", model, children },
        });
        const addresses = children.map((c) => `${root}/${c.name}`);
        return {
          op: async () => (await Promise.all(addresses.map((a) => arbor.ask(a, "hi")))).length,
          close,
        };
      }
    }
  },
  idle: async (n) => {
    const arbor = await open();
    const children = Array.from({ length: n }, (_, i) => ({ name: `c${i}`, kind: "child" as const, model }));
    const tree = await arbor.spawn({ name: "idle", root: { name: "hub", kind: "parent", model, children } });
    return { hold: tree, close: () => arbor.close() };
  },
};
