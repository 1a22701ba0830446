/**
 * OpenAI Agents JS's arm: `Agent` + `Runner` (tracing off), a `Model` implementation wrapping the
 * fake model, a zod `tool()` for W2, eight `run`s in parallel then a summarizer run for W3 (the SDK
 * has no graph: code orchestrates), and W4 through a function tool's `invoke`, the SDK's cheapest
 * public call that needs no model.
 */
import {
  Agent,
  type AgentInputItem,
  type Model,
  type ModelRequest,
  type ModelResponse,
  RunContext,
  Runner,
  setTracingDisabled,
  tool,
  Usage,
} from "@openai/agents";
import { z } from "zod";
import type { Arm, Prepared } from "../arm.ts";
import { type FakeMessage, fakeAnswer, fakeUsage, lookup, upper } from "../fake-model.ts";

setTracingDisabled(true);

const textOf = (content: unknown): string => {
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content.map((c: { text?: unknown }) => (typeof c.text === "string" ? c.text : "")).join("");
  if (typeof content === "object" && content !== null && "text" in content) return String(content.text);
  return "";
};

const toFake = (item: AgentInputItem): FakeMessage => {
  if ("role" in item && (item.role === "user" || item.role === "assistant" || item.role === "system"))
    return { role: item.role, content: textOf(item.content) };
  if (item.type === "function_call_result") return { role: "tool", content: textOf(item.output) };
  return { role: "assistant", content: "" };
};

/** The fake model behind the SDK's `Model` interface. */
class FakeModel implements Model {
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const items =
      typeof request.input === "string" ? [{ role: "user" as const, content: request.input }] : request.input;
    const a = fakeAnswer(items.map(toFake), request.tools.length > 0);
    const usage = new Usage({
      requests: 1,
      inputTokens: fakeUsage.inputTokens,
      outputTokens: fakeUsage.outputTokens,
      totalTokens: fakeUsage.inputTokens + fakeUsage.outputTokens,
    });
    return a.kind === "text"
      ? {
          usage,
          output: [
            {
              type: "message",
              role: "assistant",
              status: "completed",
              content: [{ type: "output_text", text: a.text }],
            },
          ],
        }
      : {
          usage,
          output: [
            {
              type: "function_call",
              callId: "call_1",
              name: a.name,
              arguments: JSON.stringify(a.args),
              status: "completed",
            },
          ],
        };
  }
  // biome-ignore lint/correctness/useYield: the workloads never stream
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error("the peer bench does not stream");
  }
}

const lookupTool = tool({
  name: "lookup",
  description: "looks a thing up",
  parameters: z.object({ q: z.string() }),
  execute: async ({ q }) => lookup(q),
});

const runner = new Runner({ tracingDisabled: true });
const agent = (name: string, withTools = false) =>
  new Agent({
    name,
    instructions: "",
    model: new FakeModel(),
    ...(withTools ? { tools: [lookupTool] } : {}),
  });
const ask = async (a: Agent, input: string) => String((await runner.run(a, input)).finalOutput ?? "");

const done = async () => {};

/** OpenAI Agents JS. */
export const arm: Arm = {
  prepare: async (workload): Promise<Prepared> => {
    switch (workload) {
      case "W1.seq": {
        const a = agent("w1");
        return { op: async () => ((await ask(a, "hello")) ? 1 : 0), close: done };
      }
      case "W1.c16": {
        const a = agent("w1");
        const askers = Array.from({ length: 16 }, (_, i) => i);
        return {
          op: async () => (await Promise.all(askers.map((i) => ask(a, `hello ${i}`)))).length,
          close: done,
        };
      }
      case "W1.a16": {
        const agents = Array.from({ length: 16 }, (_, i) => agent(`a${i}`));
        return {
          op: async () => (await Promise.all(agents.map((a) => ask(a, "hello")))).length,
          close: done,
        };
      }
      case "W2.tool": {
        const a = agent("w2", true);
        return {
          op: async () => ((await ask(a, "lookup lisbon")) === "answer: found lisbon" ? 1 : 0),
          close: done,
        };
      }
      case "W3.fanout": {
        const workers = Array.from({ length: 8 }, (_, i) => agent(`w${i}`));
        const summarizer = agent("summarizer");
        return {
          op: async () => {
            const parts = await Promise.all(workers.map((w, i) => ask(w, `task part ${i}`)));
            return (await ask(summarizer, parts.join(" | "))) ? 1 : 0;
          },
          close: done,
        };
      }
      case "W4.cheap100": {
        const tools = Array.from({ length: 100 }, (_, i) =>
          tool({
            name: `m${i}`,
            description: "a cheap worker",
            parameters: z.object({ text: z.string() }),
            execute: async ({ text }) => upper(text),
          }),
        );
        const context = new RunContext();
        const input = JSON.stringify({ text: "hi" });
        return {
          op: async () => (await Promise.all(tools.map((t) => t.invoke(context, input)))).length,
          close: done,
        };
      }
    }
  },
  idle: async (n) => ({ hold: Array.from({ length: n }, (_, i) => agent(`c${i}`)), close: done }),
};
