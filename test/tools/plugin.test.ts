import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeToolsPlugin, toolsPlugin } from "../../plugins/tools/plugin.ts";
import { makeEventBus } from "../../runtime/events.ts";
import type { Plugin } from "../../runtime/plugin.ts";
import { Registry } from "../../runtime/plugin-host.ts";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "arbor-tools-plugin-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const registered = (plugin: Plugin, config: Record<string, unknown> = {}) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const events = yield* makeEventBus(() => 0);
        const registry = new Registry(undefined, events, config);
        yield* registry.load([plugin], yield* Effect.scope);
        return registry.lookup("tool").names();
      }),
    ),
  );

/** The tools that touch the host, registered when the operator configures a root. */
const hostTools = [
  "read_file",
  "write_file",
  "list_dir",
  "system.load",
  "system.memory",
  "system.disk",
  "system.log",
  "system.clear",
];

describe("tools plugin", () => {
  it("registers the agent tools, and the file and system tools only when a root is configured", async () => {
    expect(await registered(toolsPlugin)).toEqual(["spawn_agent", "send_to_agent", "handoff"]);
    expect(await registered(toolsPlugin, { tools: { root } })).toEqual([
      "spawn_agent",
      "send_to_agent",
      "handoff",
      ...hostTools,
    ]);
  });

  it("can leave the agent tools out", async () => {
    expect(await registered(makeToolsPlugin({ agentTools: false, root }))).toEqual(hostTools);
  });

  it("refuses an invalid tools section in the config", async () => {
    await expect(registered(toolsPlugin, { tools: { rooot: "." } })).rejects.toThrow(/config\.tools\.rooot/);
  });
});
