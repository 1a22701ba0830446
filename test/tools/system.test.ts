/**
 * The host's health signals for diagnostic agents: load and memory from the OS, disk use and log
 * lines confined to the tools root like the file tools; `system.clear`, the repair that empties a folder.
 */

import { existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemTools } from "../../plugins/tools/builtin/system.ts";
import { systemRepairTools } from "../../plugins/tools/builtin/system-repair.ts";
import { makeToolRunner } from "../../plugins/tools/runner.ts";
import type { AgentInfo } from "../../runtime/agent-info.ts";
import { makeEventBus } from "../../runtime/events.ts";
import type { AgentOps } from "../../runtime/tool.ts";

let base: string;
let root: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "arbor-system-"));
  root = join(base, "workspace");
  await mkdir(join(root, "cache", "deep"), { recursive: true });
  await writeFile(join(root, "cache", "a.bin"), Buffer.alloc(1000));
  await writeFile(join(root, "cache", "deep", "b.bin"), Buffer.alloc(234));
  const lines = Array.from(
    { length: 5000 },
    (_, i) => `${i} ${i % 1000 === 7 ? "ERROR disk full" : "INFO ok"}`,
  );
  await writeFile(join(root, "app.log"), `${lines.join("\n")}\n`);
  await writeFile(join(base, "secret.log"), "ERROR outside");
});
afterAll(() => rm(base, { recursive: true, force: true }));

const agent: AgentInfo = {
  tree: "t",
  treeId: "t1",
  address: "/t1/doc",
  id: "a",
  name: "doc",
  kind: "child",
  depth: 1,
  settings: {},
};
const ops = {} as AgentOps;
const call = (name: string, args: unknown) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const events = yield* makeEventBus(() => 0);
      const runner = makeToolRunner({
        tools: () => [...systemTools(root), ...systemRepairTools(root)],
        events,
      });
      // Called by a person (no approver in the context), as `tools.call` does: nothing is asked.
      return yield* runner.call({ id: "c", name, args }, { agent, ops });
    }),
  );

describe("system tools", () => {
  it("read load and memory from the OS", async () => {
    const load = JSON.parse((await call("system.load", {})).content);
    expect(load.cpus).toBe(cpus().length);
    expect(typeof load.load1).toBe("number");
    const memory = JSON.parse((await call("system.memory", {})).content);
    expect(memory.totalBytes).toBeGreaterThan(memory.freeBytes);
    expect(memory.usedShare).toBeGreaterThan(0);
  });

  it("measure a folder under the root and tail a log, refusing paths outside the root", async () => {
    expect(JSON.parse((await call("system.disk", { path: "cache" })).content)).toMatchObject({
      bytes: 1234,
      files: 2,
      truncated: false,
    });
    expect((await call("system.log", { path: "app.log", lines: 2 })).content).toBe(
      "4998 INFO ok\n4999 INFO ok",
    );
    expect((await call("system.log", { path: "app.log", lines: 3, match: "ERROR" })).content).toBe(
      "2007 ERROR disk full\n3007 ERROR disk full\n4007 ERROR disk full",
    );
    const outside = await call("system.log", { path: "../secret.log" });
    expect(outside).toMatchObject({ ok: false, content: expect.stringMatching(/leaves the root/) });
    expect((await call("system.log", { path: "app.log", match: "(" })).content).toMatch(
      /not a regular expression/,
    );
  });

  it("system.clear empties a folder under the root and keeps it; the root itself and paths outside are refused", async () => {
    await mkdir(join(root, "tmp", "nested"), { recursive: true });
    await writeFile(join(root, "tmp", "x.bin"), Buffer.alloc(10));
    await writeFile(join(root, "tmp", "nested", "y.bin"), Buffer.alloc(5));
    const cleared = await call("system.clear", { path: "tmp" });
    expect(JSON.parse(cleared.content)).toEqual({ path: "tmp", removedFiles: 2, freedBytes: 15 });
    expect(existsSync(join(root, "tmp")) && readdirSync(join(root, "tmp"))).toEqual([]);
    expect((await call("system.clear", { path: "." })).content).toMatch(/refusing to clear the whole root/);
    expect((await call("system.clear", { path: "../" })).content).toMatch(/leaves the root/);
    expect(existsSync(join(root, "app.log"))).toBe(true);
  });
});
