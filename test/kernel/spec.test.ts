import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { SpecInvalid } from "../../runtime/errors.ts";
import { loadSpecFile } from "../../runtime/spec/load.ts";
import { makeTestSystem, run } from "./support.ts";

const scripted = { provider: "scripted", script: [{ text: "ok" }] };

const problemsOf = (spec: unknown) =>
  run(
    Effect.gen(function* () {
      const { system } = yield* makeTestSystem();
      const result = yield* Effect.either(system.spawnTree(spec));
      if (Either.isRight(result)) throw new Error("spec was accepted");
      expect(result.left).toBeInstanceOf(SpecInvalid);
      return (result.left as SpecInvalid).problems;
    }),
  );

describe("tree spec validation", () => {
  it("refuses a spec as a whole and lists every problem by JSON path", async () => {
    const problems = await problemsOf({
      name: "bad",
      root: {
        name: "lead",
        kind: "parent",
        model: { provider: "nope" },
        supervision: { maxRestarts: -1, backoff: { minMs: 50, maxMs: 10 } },
        mailbox: { capacity: 0 },
        children: [
          { name: "w", kind: "worker" },
          { name: "w", kind: "child", children: [{ name: "p", kind: "parent" }] },
          {
            name: "m",
            kind: "micro",
            handler: "echo",
            children: [{ name: "x", kind: "micro", handler: "echo" }],
          },
          { name: "t", kind: "child", tools: ["no_such_tool"], modle: {} },
          { name: "u", kind: "child", tools: { allow: ["ghost", "mcp.later.*"] } },
        ],
      },
    });
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "$.root.model.provider",
        "$.root.supervision.maxRestarts",
        "$.root.supervision.backoff",
        "$.root.mailbox.capacity",
        "$.root.children[0].kind",
        "$.root.children[1].name",
        "$.root.children[1].children[0].kind",
        "$.root.children[2].children",
        "$.root.children[3].tools[0]",
        "$.root.children[3].modle",
        "$.root.children[4].tools.allow[0]",
      ]),
    );
    const byPath = (path: string) =>
      problems
        .filter((p) => p.path === path)
        .map((p) => p.message)
        .join(" | ");
    expect(byPath("$.root.model.provider")).toMatch(/unknown provider "nope".*scripted/);
    expect(byPath("$.root.children[1].name")).toMatch(/duplicate sibling name "w"/);
    expect(byPath("$.root.children[2].children")).toMatch(/micro agent cannot have children/);
    expect(byPath("$.root.children[1].children[0].kind")).toMatch(/child agent cannot have a parent/);
    expect(byPath("$.root.children[0].kind")).toMatch(
      /expected one of "parent", "child", "micro"; got "worker"/,
    );
    expect(byPath("$.root.children[3].tools[0]")).toMatch(/unknown tool "no_such_tool"/);
    expect(byPath("$.root.children[3].modle")).toMatch(/unknown field/);
  });

  it("reports a cycle instead of recursing forever", async () => {
    const root: Record<string, unknown> = { name: "lead", kind: "parent", model: scripted };
    root.children = [root];
    const problems = await problemsOf({ name: "loop", root });
    expect(problems).toEqual([
      expect.objectContaining({ path: "$.root.children[0]", message: expect.stringMatching(/cycle/) }),
    ]);
  });

  it("refuses specs nested thousands of levels deep by path, before anything recurses into them", async () => {
    let agent: Record<string, unknown> = { name: "m", kind: "micro", handler: "echo" };
    for (let i = 0; i < 5_000; i++)
      agent = { name: `a${i}`, kind: "child", model: scripted, children: [agent] };
    const [deep] = await problemsOf({ name: "deep", root: agent });
    expect(deep).toMatchObject({ path: expect.stringMatching(/^\$\.root\.children\[0\]\.children\[0\]/) });
    expect(deep!.message).toMatch(/nested too deep/);

    let tools: unknown = "echo";
    for (let i = 0; i < 5_000; i++) tools = [tools];
    const [inTools] = await problemsOf({
      name: "t",
      root: { name: "r", kind: "child", model: scripted, tools },
    });
    expect(inTools).toMatchObject({ path: expect.stringMatching(/^\$\.root\.tools\[0\]\[0\]/) });

    const tooMuch = await problemsOf({
      name: "l",
      limits: { maxDepth: 10_000 },
      root: { name: "r", kind: "child", model: scripted },
    });
    expect(tooMuch).toEqual([{ path: "$.limits.maxDepth", message: expect.stringMatching(/at most 256/) }]);
  });

  it("refuses a safety section whose plugin is not loaded, instead of silently doing nothing", async () => {
    const problems = await problemsOf({
      name: "unguarded",
      root: {
        name: "r",
        kind: "child",
        model: scripted,
        guardrails: { pii: "always" },
        tripwires: { maxTokens: 10 },
        tools: { allow: ["read_file"] },
      },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: "$.root.guardrails", message: "no plugin handles guardrails: load guardrailsPlugin" },
        { path: "$.root.tripwires", message: "no plugin handles tripwires: load tripwiresPlugin" },
        { path: "$.root.tools", message: "no plugin handles tools: load toolsPlugin" },
      ]),
    );
  });

  it("checks limits: depth and children per agent", async () => {
    const deep = {
      name: "a",
      kind: "child",
      children: [{ name: "b", kind: "child", children: [{ name: "c", kind: "micro", handler: "echo" }] }],
    };
    const problems = await problemsOf({
      name: "limits",
      limits: { maxDepth: 2, maxChildren: 1 },
      root: {
        name: "lead",
        kind: "parent",
        model: scripted,
        children: [deep, { name: "z", kind: "micro", handler: "echo" }],
      },
    });
    expect(problems.map((p) => p.message).join("\n")).toMatch(/depth 3 exceeds limits.maxDepth 2/);
    expect(problems.map((p) => p.message).join("\n")).toMatch(/2 children exceed limits.maxChildren 1/);
  });

  it("validates scripted steps and says which agent has no model", async () => {
    const problems = await problemsOf({
      name: "models",
      root: {
        name: "lead",
        kind: "parent",
        children: [
          {
            name: "w",
            kind: "child",
            model: { provider: "scripted", script: [{ text: "a", crash: "b" }, { dleayMs: 3 }] },
          },
        ],
      },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: "$.root", message: expect.stringMatching(/no model/) }),
        expect.objectContaining({ path: "$.root.children[0].model.script[1].dleayMs" }),
      ]),
    );
  });

  it("accepts a valid spec, applies defaults and inherits the model", async () => {
    const tree = await run(
      Effect.gen(function* () {
        const { system } = yield* makeTestSystem();
        const handle = yield* system.spawnTree({
          name: "ok",
          root: { name: "lead", kind: "parent", model: scripted, children: [{ name: "w", kind: "child" }] },
        });
        const node = yield* system.inspect(handle.treeId);
        const reply = yield* system.ask("/ok/lead/w", "hi");
        return { handle, node, reply };
      }),
    );
    expect(tree.handle).toEqual({ treeId: "ok", name: "ok", root: "/ok/lead" });
    expect(tree.node.children[0]).toMatchObject({
      address: "/ok/lead/w",
      kind: "child",
      mailbox: { capacity: 1024 },
    });
    expect(tree.reply.output).toBe("ok");
  });

  it("reads YAML specs and names the file and position of a syntax error", async () => {
    const spec = await Effect.runPromise(loadSpecFile("examples/escalation.yaml"));
    expect(spec).toMatchObject({ name: "escalation", root: { name: "lead", kind: "parent" } });
    const error = await Effect.runPromise(Effect.flip(loadSpecFile("package-lock.json.missing")));
    expect(error.message).toMatch(/package-lock.json.missing: cannot read it \(ENOENT\)/);
  });
});
