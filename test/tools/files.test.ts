import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileTools } from "../../plugins/tools/builtin/files.ts";
import { makeToolRunner } from "../../plugins/tools/runner.ts";
import type { AgentInfo } from "../../runtime/agent-info.ts";
import { makeEventBus } from "../../runtime/events.ts";
import type { AgentOps } from "../../runtime/tool.ts";

let base: string;
let root: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "arbor-files-"));
  root = join(base, "workspace");
  await mkdir(join(root, "notes"), { recursive: true });
  await writeFile(join(root, "notes", "a.txt"), "alpha");
  await writeFile(join(base, "outside.txt"), "top secret");
  await symlink(join(base, "outside.txt"), join(root, "link.txt"));
  await symlink(base, join(root, "escape"));
});
afterAll(() => rm(base, { recursive: true, force: true }));

const agent = (tools?: unknown): AgentInfo => ({
  tree: "t",
  treeId: "t1",
  address: "/t1/root",
  id: "a",
  name: "root",
  kind: "parent",
  depth: 0,
  settings: tools === undefined ? {} : { tools },
});
const noOps: AgentOps = {
  spawn: () => Effect.fail(new Error("unused")),
  send: () => Effect.fail(new Error("unused")),
  ask: () => Effect.fail(new Error("unused")),
  resolve: (to) => to,
};

const call = (name: string, args: unknown, who = agent(), fallbackRoot: string | null = root) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const events = yield* makeEventBus(() => 0);
      const runner = makeToolRunner({ tools: () => fileTools(fallbackRoot ?? undefined), events });
      return yield* runner.call({ id: "c", name, args }, { agent: who, ops: noOps });
    }),
  );

describe("file tools", () => {
  it("reads, writes and lists inside the root", async () => {
    expect(await call("read_file", { path: "notes/a.txt" })).toMatchObject({ ok: true, content: "alpha" });
    expect(await call("write_file", { path: "out/b.txt", content: "beta" })).toMatchObject({ ok: true });
    expect(await readFile(join(root, "out", "b.txt"), "utf8")).toBe("beta");
    await call("write_file", { path: "out/b.txt", content: "!", append: true });
    expect(await readFile(join(root, "out", "b.txt"), "utf8")).toBe("beta!");
    const listing = await call("list_dir", {});
    expect(listing.content.split("\n")).toEqual(expect.arrayContaining(["notes/", "out/", "link.txt"]));
  });

  it("never writes through a symbolic link, even one that points inside the root", async () => {
    await symlink(join(root, "notes", "a.txt"), join(root, "inner-link.txt"));
    const result = await call("write_file", { path: "inner-link.txt", content: "overwritten" });
    expect(result).toMatchObject({
      ok: false,
      content: expect.stringMatching(/is a symbolic link; write to the file it points to/),
    });
    expect(await readFile(join(root, "notes", "a.txt"), "utf8")).toBe("alpha");
  });

  it("refuses absolute paths, traversal and symbolic links out of the root", async () => {
    const refused = [
      await call("read_file", { path: join(base, "outside.txt") }),
      await call("read_file", { path: "../outside.txt" }),
      await call("read_file", { path: "notes/../../outside.txt" }),
      await call("read_file", { path: "link.txt" }),
      await call("read_file", { path: "escape/outside.txt" }),
      await call("write_file", { path: "escape/new.txt", content: "x" }),
      await call("list_dir", { path: "escape" }),
    ];
    for (const result of refused) {
      expect(result.ok).toBe(false);
      expect(result.content).not.toContain("top secret");
    }
    expect(refused[0]!.content).toMatch(/absolute paths are refused/);
    expect(refused[1]!.content).toMatch(/leaves the root/);
    expect(refused[3]!.content).toMatch(/symbolic link/);
  });

  it("refuses to build a folder chain thousands deep or a path past its length, creating nothing", async () => {
    const chain = await call("write_file", { path: `${"d/".repeat(2_000)}x.txt`, content: "x" });
    expect(chain.ok).toBe(false);
    expect(chain.content).toMatch(/2000 folders deep; write_file creates at most 32 levels/);
    const long = await call("write_file", {
      path: `${"n".repeat(200)}/${"m".repeat(900)}.txt`,
      content: "x",
    });
    expect(long.ok).toBe(false);
    expect(long.content).toMatch(/write_file paths are at most 1024/);
    await expect(readFile(join(root, "d", "d"), "utf8")).rejects.toMatchObject({ code: "ENOENT" });
    // Within the limits, nested folders are still created.
    expect((await call("write_file", { path: `${"deep/".repeat(32)}ok.txt`, content: "fine" })).ok).toBe(
      true,
    );
  });

  it("uses the spec's narrower root and says when none is configured", async () => {
    const narrowed = agent({ root: join(root, "notes") });
    expect(await call("read_file", { path: "a.txt" }, narrowed)).toMatchObject({
      ok: true,
      content: "alpha",
    });
    expect(await call("read_file", { path: "../link.txt" }, narrowed)).toMatchObject({ ok: false });
    const none = await call("read_file", { path: "a.txt" }, agent(), null);
    expect(none.content).toMatch(/file tools are not configured: set tools.root/);
  });
});

describe("file tools under a configured root", () => {
  it("refuse a spec root outside the configured one", async () => {
    const escaped = await call("list_dir", {}, agent({ root: base }), join(root, "notes"));
    expect(escaped.ok).toBe(false);
    expect(escaped.content).toMatch(/outside the configured root/);
  });
});
