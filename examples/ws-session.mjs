#!/usr/bin/env node
// A complete session with `arbor serve` using nothing but a plain WebSocket and JSON-RPC 2.0:
// spawn a tree, subscribe to its events, ask the root, inspect the tree, kill a child and watch
// its supervisor restart it, then stop the tree.
//
//   arbor serve                                  # terminal 1 (or: npm run serve)
//   node examples/ws-session.mjs                 # terminal 2
//   node examples/ws-session.mjs ws://host:7420/rpc   # elsewhere; set ARBOR_TOKEN if the server needs one
import WebSocket from "ws";

const url = process.argv[2] ?? process.env.ARBOR_URL ?? "ws://127.0.0.1:7420/rpc";
const headers = process.env.ARBOR_TOKEN ? { authorization: `Bearer ${process.env.ARBOR_TOKEN}` } : {};
const ws = new WebSocket(url, { headers });

let nextId = 0;
const pending = new Map();
const waiters = [];

/** Sends one request and resolves with its result (rejects with the JSON-RPC error). */
const call = (method, params = {}) =>
  new Promise((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, { resolve, reject });
    const request = { jsonrpc: "2.0", id, method, params };
    console.log(`→ ${JSON.stringify(request)}`);
    ws.send(JSON.stringify(request));
  });

/** Resolves with the first event notification that satisfies `test`. */
const nextEvent = (test) => new Promise((resolve) => waiters.push({ test, resolve }));

ws.on("message", (data) => {
  const message = JSON.parse(data.toString());
  if (message.method === "event") {
    const { event } = message.params;
    console.log(`  event ${event.type} ${event.address}${event.reason ? ` (${event.reason})` : ""}`);
    const i = waiters.findIndex((w) => w.test(event));
    if (i >= 0) waiters.splice(i, 1)[0].resolve(event);
    return;
  }
  const entry = pending.get(message.id);
  if (!entry) return;
  pending.delete(message.id);
  if (message.error) {
    console.log(`← error ${JSON.stringify(message.error)}`);
    entry.reject(new Error(message.error.message));
  } else {
    console.log(`← ${JSON.stringify(message.result)}`);
    entry.resolve(message.result);
  }
});

ws.on("error", (error) => {
  console.error(`cannot connect to ${url}: ${error.message}\nstart the server first: arbor serve`);
  process.exit(1);
});

ws.on("open", async () => {
  // A parent that asks its team, a micro agent, and a child whose supervisor restarts it.
  const spec = {
    name: "session",
    root: {
      name: "lead",
      kind: "parent",
      model: { provider: "scripted", script: [{ text: "Plan: {{input}}" }] },
      supervision: { strategy: "one_for_one", maxRestarts: 3, periodMs: 5000 },
      children: [
        { name: "shout", kind: "micro", handler: "upper" },
        {
          name: "writer",
          kind: "child",
          model: { provider: "scripted", script: [{ text: "draft for {{input}}" }] },
        },
      ],
    },
  };

  console.log("\n# 1. spawn a tree");
  const { treeId, root } = await call("tree.spawn", { spec });

  console.log("\n# 2. subscribe to its lifecycle events");
  await call("events.subscribe", { treeId, types: ["agent.*", "tree.*"] });

  console.log("\n# 3. ask the root (it consults its children)");
  const reply = await call("agent.ask", { to: root, input: "a three-day trip to Lisbon" });
  console.log(`\n${reply.output}\n`);

  console.log("# 4. inspect the live tree");
  const tree = await call("tree.inspect", { treeId });
  for (const child of tree.children)
    console.log(`  ${child.address}  ${child.kind}  ${child.state}  restarts=${child.restarts}`);

  console.log("\n# 5. kill a child and watch its supervisor restart it");
  const restarted = nextEvent((e) => e.type === "agent.restarted" && e.address === `${root}/writer`);
  await call("agent.kill", { to: `${root}/writer`, reason: "fault drill" });
  const event = await restarted;
  console.log(`  restarted after ${event.delayMs} ms, restart #${event.restarts}`);
  const after = await call("tree.inspect", { treeId });
  const writer = after.children.find((c) => c.name === "writer");
  console.log(`  writer is ${writer.status}, restarts=${writer.restarts}`);
  await call("agent.ask", { to: `${root}/writer`, input: "the second day" });

  console.log("\n# 6. stop the tree");
  const stopped = nextEvent((e) => e.type === "tree.stopped");
  await call("tree.stop", { treeId, reason: "session over" });
  await stopped;
  ws.close();
});
