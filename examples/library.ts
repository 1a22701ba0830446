// Run with: npx tsx examples/library.ts
// Defines a tree in code, runs it in process, sends it tasks and reads its events.
import { createArbor } from "arbor-agents";

const arbor = await createArbor();
arbor.onEvent((event) => {
  if (event.type === "agent.failed" || event.type === "agent.restarted")
    console.log(`event: ${event.type} ${event.address} (${event.reason})`);
});

const tree = await arbor.spawn({
  name: "library-demo",
  root: {
    name: "lead",
    kind: "parent",
    model: { provider: "scripted", script: [{ text: "All done: {{input}}" }] },
    children: [
      {
        name: "worker",
        kind: "child",
        model: { provider: "scripted", script: [{ crash: "flaky start" }, { text: "worked on it" }] },
      },
      { name: "upper", kind: "micro", handler: "upper" },
    ],
  },
});

const reply = await arbor.ask(tree.root, "tidy the garden");
console.log(reply.output);
console.log(await arbor.ask(`${tree.root}/upper`, "micro agents answer at once"));
console.log(
  JSON.stringify(await arbor.inspect(tree.treeId), ["name", "kind", "status", "restarts", "children"], 1),
);
await arbor.close();
