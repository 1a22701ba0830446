/**
 * LangGraph.js's arm: the canonical agent graph (a model node, a `ToolNode`, `toolsCondition`) over
 * `MessagesAnnotation`, a `BaseChatModel` subclass wrapping the fake model, `Send` for W3's fan-out,
 * one-node graphs for W4.
 */
import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage, HumanMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { type StructuredToolInterface, tool } from "@langchain/core/tools";
import { Annotation, END, MessagesAnnotation, Send, START, StateGraph } from "@langchain/langgraph";
import { ToolNode, toolsCondition } from "@langchain/langgraph/prebuilt";
import { z } from "zod";
import type { Arm, Prepared } from "../arm.ts";
import { type FakeMessage, fakeAnswer, fakeUsage, lookup, upper } from "../fake-model.ts";

const roleOf = (m: BaseMessage): FakeMessage["role"] => {
  const type = m.getType();
  return type === "human" ? "user" : type === "ai" ? "assistant" : type === "tool" ? "tool" : "system";
};

/** The fake model as a LangChain chat model; `bindTools` returns a copy that knows it has tools. */
class FakeChatModel extends BaseChatModel {
  constructor(private readonly hasTools = false) {
    super({});
  }
  _llmType(): string {
    return "fake";
  }
  override bindTools(tools: ReadonlyArray<unknown>) {
    return new FakeChatModel(tools.length > 0);
  }
  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const a = fakeAnswer(
      messages.map((m) => ({ role: roleOf(m), content: typeof m.content === "string" ? m.content : "" })),
      this.hasTools,
    );
    const usage_metadata = {
      input_tokens: fakeUsage.inputTokens,
      output_tokens: fakeUsage.outputTokens,
      total_tokens: fakeUsage.inputTokens + fakeUsage.outputTokens,
    };
    const message =
      a.kind === "text"
        ? new AIMessage({ content: a.text, usage_metadata })
        : new AIMessage({
            content: "",
            tool_calls: [{ id: "call_1", name: a.name, args: a.args }],
            usage_metadata,
          });
    return { generations: [{ text: a.kind === "text" ? a.text : "", message }] };
  }
}

const lookupTool = tool(async ({ q }: { q: string }) => lookup(q), {
  name: "lookup",
  description: "looks a thing up",
  schema: z.object({ q: z.string() }),
});

/** One agent: the model node, and the tool node with its condition when it has tools. */
const agentGraph = (tools: ReadonlyArray<StructuredToolInterface> = []) => {
  const model = tools.length > 0 ? new FakeChatModel().bindTools([...tools]) : new FakeChatModel();
  const callModel = async (state: typeof MessagesAnnotation.State) => ({
    messages: [await model.invoke(state.messages)],
  });
  if (tools.length === 0)
    return new StateGraph(MessagesAnnotation)
      .addNode("model", callModel)
      .addEdge(START, "model")
      .addEdge("model", END)
      .compile();
  return new StateGraph(MessagesAnnotation)
    .addNode("model", callModel)
    .addNode("tools", new ToolNode([...tools]))
    .addEdge(START, "model")
    .addConditionalEdges("model", toolsCondition, ["tools", END])
    .addEdge("tools", "model")
    .compile();
};

const textOf = (state: typeof MessagesAnnotation.State): string =>
  String(state.messages.at(-1)?.content ?? "");
const ask = async (graph: ReturnType<typeof agentGraph>, input: string) =>
  textOf(await graph.invoke({ messages: [new HumanMessage(input)] }));

const FanoutState = Annotation.Root({
  task: Annotation<string>,
  part: Annotation<number>,
  parts: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  summary: Annotation<string>,
});

/** Coordinator → 8 workers (each one model call) through `Send` → a summarizer (one model call). */
const fanoutGraph = () => {
  const model = new FakeChatModel();
  return new StateGraph(FanoutState)
    .addNode("worker", async (s: typeof FanoutState.State) => ({
      parts: [String((await model.invoke([new HumanMessage(`${s.task} part ${s.part}`)])).content)],
    }))
    .addNode("summarize", async (s: typeof FanoutState.State) => ({
      summary: String((await model.invoke([new HumanMessage(s.parts.join(" | "))])).content),
    }))
    .addConditionalEdges(START, (s: typeof FanoutState.State) =>
      Array.from({ length: 8 }, (_, part) => new Send("worker", { task: s.task, part })),
    )
    .addEdge("worker", "summarize")
    .addEdge("summarize", END)
    .compile();
};

const CheapState = Annotation.Root({ text: Annotation<string> });
/** W4's cheapest public path: a compiled one-node graph per worker, invoked. */
const cheapGraph = () =>
  new StateGraph(CheapState)
    .addNode("work", (s: typeof CheapState.State) => ({ text: upper(s.text) }))
    .addEdge(START, "work")
    .addEdge("work", END)
    .compile();

const done = async () => {};

/** LangGraph.js with @langchain/core. */
export const arm: Arm = {
  prepare: async (workload): Promise<Prepared> => {
    switch (workload) {
      case "W1.seq": {
        const g = agentGraph();
        return { op: async () => ((await ask(g, "hello")) ? 1 : 0), close: done };
      }
      case "W1.c16": {
        const g = agentGraph();
        const askers = Array.from({ length: 16 }, (_, i) => i);
        return {
          op: async () => (await Promise.all(askers.map((i) => ask(g, `hello ${i}`)))).length,
          close: done,
        };
      }
      case "W1.a16": {
        const graphs = Array.from({ length: 16 }, () => agentGraph());
        return {
          op: async () => (await Promise.all(graphs.map((g) => ask(g, "hello")))).length,
          close: done,
        };
      }
      case "W2.tool": {
        const g = agentGraph([lookupTool]);
        return {
          op: async () => ((await ask(g, "lookup lisbon")) === "answer: found lisbon" ? 1 : 0),
          close: done,
        };
      }
      case "W3.fanout": {
        const g = fanoutGraph();
        return { op: async () => ((await g.invoke({ task: "task" })).summary ? 1 : 0), close: done };
      }
      case "W4.cheap100": {
        const graphs = Array.from({ length: 100 }, () => cheapGraph());
        return {
          op: async () => (await Promise.all(graphs.map((g) => g.invoke({ text: "hi" })))).length,
          close: done,
        };
      }
    }
  },
  idle: async (n) => ({ hold: Array.from({ length: n }, () => agentGraph()), close: done }),
};
