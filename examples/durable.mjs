#!/usr/bin/env node
// A durable tree outliving its server, end to end: start `arbor serve` on a fresh data dir, spawn a
// durable tree, ask its agent something slow (with an idempotency key, on a thread), SIGKILL the
// server in the middle of the step, start it again on the same data dir, and ask again with the same
// key from a new connection: the tree is back under the same id and the resumed task answers.
//
//   npm run build            # once, if dist/ is missing (npm ci does it)
//   node examples/durable.mjs
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ArborClient } from "arbor-agents";

const bin = join(import.meta.dirname, "..", "bin", "arbor.mjs");
const dataDir = join(mkdtempSync(join(tmpdir(), "arbor-durable-example-")), "data");

/** Starts `arbor serve` on the data dir; resolves once it listens (durable trees are back by then). */
const serve = () =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "serve", "--port", "0", "--json"], {
      env: { ...process.env, ARBOR_DATA_DIR: dataDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    createInterface({ input: child.stderr }).on("line", (line) => console.log(`  [server] ${line}`));
    createInterface({ input: child.stdout }).once("line", (line) => resolve({ child, ...JSON.parse(line) }));
    child.once("exit", (code) => reject(new Error(`arbor serve exited with ${code}`)));
  });

const spec = {
  name: "keeper",
  durable: true,
  root: {
    name: "scribe",
    kind: "child",
    history: { maxMessages: 20 },
    model: { provider: "scripted", script: [{ text: "Noted: {{input}}", delayMs: 3000 }] },
  },
};

console.log("1. arbor serve, a durable tree, a slow ask");
const first = await serve();
const client1 = await ArborClient.connect(first.url);
const tree = await client1.spawn(spec);
console.log(`   spawned ${tree.treeId}, root ${tree.root}`);
let taskStarted;
const started = new Promise((resolve) => {
  taskStarted = resolve;
});
await client1.subscribe({ treeId: tree.treeId, types: ["agent.task"] }, taskStarted);
client1.ask(tree.root, "remember the milk", { thread: "notes", idempotencyKey: "note-1" }).catch(() => {});
await started;
await new Promise((resolve) => setTimeout(resolve, 500)); // the step's state is written within a few ms

console.log("2. SIGKILL in the middle of the step");
first.child.kill("SIGKILL");
await new Promise((resolve) => first.child.once("exit", resolve));

console.log("3. arbor serve again, same data dir: the tree comes back before it accepts connections");
const second = await serve();
const client2 = await ArborClient.connect(second.url);
const { trees } = await client2.call("tree.list");
console.log(
  `   tree.list: ${JSON.stringify(trees.map(({ treeId, durable, resumedAt }) => ({ treeId, durable, resumedAt })))}`,
);
const reply = await client2.ask(tree.root, "remember the milk", {
  thread: "notes",
  idempotencyKey: "note-1",
});
console.log(`   the same key from a new connection: ${JSON.stringify(reply.output)}`);
const history = await client2.call("agent.history", { to: tree.root, thread: "notes" });
console.log(`   thread "notes": ${JSON.stringify(history.messages)}`);
await client2.call("tree.stop", { treeId: tree.treeId });
await client2.close();
second.child.kill("SIGTERM");
