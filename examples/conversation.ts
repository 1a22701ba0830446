// Run with: npx tsx examples/conversation.ts
// A conversation on a thread, and slow asks cut off by their deadline and by agent.cancel.
import { createArbor } from "arbor-agents";

const arbor = await createArbor();
const tree = await arbor.spawn({
  name: "conversation",
  root: {
    name: "lead",
    kind: "parent",
    model: { provider: "scripted", script: [{ text: "ok" }] },
    children: [
      {
        name: "assistant",
        kind: "child",
        history: { maxMessages: 20, maxTokens: 4000 },
        model: {
          provider: "scripted",
          script: [{ text: "Nice to meet you." }, { text: "You are Ada; the thread was sent along." }],
        },
      },
      {
        name: "thinker",
        kind: "child",
        model: { provider: "scripted", script: [{ delayMs: 60_000, text: "far too late" }] },
      },
    ],
  },
});
const assistant = `${tree.root}/assistant`;
const thinker = `${tree.root}/thinker`;

// A thread: the agent remembers the exchange and sends it with the next ask on the same thread.
await arbor.ask(assistant, "I am Ada.", { thread: "ada" });
await arbor.ask(assistant, "Who am I?", { thread: "ada" });
for (const m of await arbor.history(assistant, "ada")) console.log(`${m.role}: ${m.content}`);

// A deadline interrupts the step (a network provider's request is aborted); the agent is free at once.
const late = await arbor.ask(thinker, "Think hard.", { timeoutMs: 50 }).catch((e) => e);
console.log(`${late._tag} (fault ${late.fault})`);

// agent.cancel: withdraw an ask by the id you gave it (here as soon as the agent takes it).
arbor.onEvent((e) => {
  if (e.type === "agent.task" && e.requestId === "job-7") void arbor.cancel(thinker, "job-7");
});
const cancelled = await arbor.ask(thinker, "Think harder.", { requestId: "job-7" }).catch((e) => e);
console.log(`${cancelled._tag} (fault ${cancelled.fault})`);
await arbor.close();
