/**
 * The documented session (examples/ws-session.mjs, shown in docs/server.md) really runs: a plain
 * `ws` client spawns, subscribes, asks, inspects, kills a child, sees the restart, and stops.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { startRuntimeServer } from "./runtime.ts";

it("runs the plain-WebSocket session from the docs against a real server", async () => {
  const running = await startRuntimeServer();
  try {
    const script = join(import.meta.dirname, "..", "..", "examples", "ws-session.mjs");
    const { stdout } = await promisify(execFile)(process.execPath, [script, running.url], {
      env: { ...process.env, ARBOR_TOKEN: "" },
    });
    expect(stdout).toContain('← {"treeId":"session","root":"/session/lead"}');
    expect(stdout).toContain("[shout] A THREE-DAY TRIP TO LISBON");
    expect(stdout).toContain("event agent.restarted /session/lead/writer (fault drill)");
    expect(stdout).toContain("writer is running, restarts=1");
    expect(stdout).toContain("event tree.stopped /session (session over)");
  } finally {
    await running.close();
  }
});
