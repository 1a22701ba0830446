/**
 * Roles as data: a spec's `role` (with `promptStyle` and `promptVars`) becomes the agent's prompt and
 * model settings; unknown roles, styles and variables are refused by path; a user's roles folder adds
 * roles, and a role whose template uses an undeclared variable is refused when loaded.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { builtinRolesFolder, loadRoles, makeRolesPlugin, promptStyles } from "../../agents/roles/index.ts";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { makeToolsPlugin } from "../../plugins/tools/plugin.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import type { SpecInvalid } from "../../runtime/errors.ts";
import type { Plugin } from "../../runtime/plugin.ts";

const model = { provider: "scripted", script: [{ text: "ok" }] };
const spawn = (root: Record<string, unknown>, plugins: ReadonlyArray<Plugin> = [makeRolesPlugin()]) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const system = yield* makeAgentSystem({ plugins: [scriptedPlugin, ...plugins] });
        const handle = yield* Effect.either(system.spawnTree({ name: "r", root }));
        if (Either.isLeft(handle))
          return { problems: (handle.left as SpecInvalid).problems, spec: undefined };
        return {
          problems: [],
          spec: (yield* system.specOf(handle.right.treeId)).root as Record<string, unknown>,
        };
      }),
    ),
  );

describe("the built-in role catalog", () => {
  it("has every role in every style, each template using only declared variables", () => {
    const { roles, problems } = loadRoles([builtinRolesFolder()]);
    expect(problems).toEqual([]);
    expect([...roles.keys()].sort()).toEqual(
      ["coder", "critic", "diagnostician", "planner", "repairer", "researcher", "summarizer"].sort(),
    );
    for (const role of roles.values())
      for (const style of promptStyles) expect(role.prompts[style].length).toBeGreaterThan(40);
  });
});

describe("a role in a spec", () => {
  it("gives the agent the role's prompt in the chosen style, its variables and its model settings", async () => {
    const { spec } = await spawn({
      name: "c",
      kind: "child",
      role: "critic",
      promptStyle: "xml",
      promptVars: { criteria: "security" },
      model,
    });
    expect(spec!.instructions).toMatch(/^<role>critic<\/role>/);
    expect(spec!.instructions).toContain("<criteria>security</criteria>");
    expect(spec!.model).toMatchObject({ temperature: 0.1, maxTokens: 800 });
    expect(spec).not.toHaveProperty("promptStyle");
    const plain = await spawn({
      name: "p",
      kind: "child",
      role: "planner",
      model: { ...model, temperature: 0.9 },
    });
    expect(plain.spec!.instructions).toContain("at most 5 concrete steps");
    expect(plain.spec!.model).toMatchObject({ temperature: 0.9, maxTokens: 800 });
  });

  it("keeps instructions the spec writes itself, and gives a researcher its memory tools", async () => {
    const { spec } = await spawn({
      name: "r",
      kind: "child",
      role: "researcher",
      instructions: "Only cite the handbook.",
      model,
    });
    expect(spec!.instructions).toBe("Only cite the handbook.");
    const tooled = await spawn({ name: "r", kind: "child", role: "researcher", model }, [
      makeRolesPlugin(),
      makeToolsPlugin(),
    ]);
    expect(tooled.spec!.tools).toEqual({ allow: ["memory.*"] });
    // Without a tools plugin the role's tools are left out rather than refused.
    expect((await spawn({ name: "r", kind: "child", role: "researcher", model })).spec).not.toHaveProperty(
      "tools",
    );
  });

  it("refuses unknown roles, styles and variables by path, suggesting what was meant", async () => {
    const { problems } = await spawn({
      name: "lead",
      kind: "parent",
      model,
      children: [
        { name: "a", kind: "child", role: "critc", model },
        { name: "b", kind: "child", role: "critic", promptStyle: "xlm", model },
        { name: "c", kind: "child", role: "critic", promptVars: { critera: "x" }, model },
        { name: "d", kind: "child", promptStyle: "cot", model },
      ],
    });
    expect(problems).toEqual([
      { path: "$.root.children[0].role", message: 'unknown role "critc"; did you mean critic?' },
      {
        path: "$.root.children[1].promptStyle",
        message: 'expected one of "plain", "xml", "cot"; got "xlm"; did you mean xml?',
      },
      {
        path: "$.root.children[2].promptVars.critera",
        message: 'role critic has no variable "critera"; did you mean criteria?',
      },
      {
        path: "$.root.children[3].promptStyle",
        message: "promptStyle needs a role (role: planner, critic, …)",
      },
    ]);
  });
});

describe("a user's roles folder", () => {
  const folder = () => {
    const dir = mkdtempSync(join(tmpdir(), "arbor-roles-"));
    mkdirSync(join(dir, "translator"));
    writeFileSync(
      join(dir, "translator", "role.yaml"),
      "description: Translates text.\nmodel: { temperature: 0 }\nvariables:\n  - name: language\n",
    );
    for (const style of promptStyles)
      writeFileSync(join(dir, "translator", `${style}.md`), `Translate into {{language}} (${style}).`);
    return dir;
  };

  it("adds roles whose required variables must be given", async () => {
    const dir = folder();
    const missing = await spawn({ name: "t", kind: "child", role: "translator", model }, [
      makeRolesPlugin({ folders: [dir] }),
    ]);
    expect(missing.problems).toEqual([
      { path: "$.root.promptVars", message: 'role translator needs the variable "language"' },
    ]);
    const given = await spawn(
      { name: "t", kind: "child", role: "translator", promptVars: { language: "Czech" }, model },
      [makeRolesPlugin({ folders: [dir] })],
    );
    expect(given.spec!.instructions).toBe("Translate into Czech (plain).");
  });

  it("refuses a role whose template uses a variable it does not declare", () => {
    const dir = folder();
    writeFileSync(join(dir, "translator", "cot.md"), "Think, then translate into {{langauge}}.");
    expect(loadRoles([dir]).problems).toEqual([
      {
        folder: join(dir, "translator"),
        message: "cot.md uses {{langauge}}, which role.yaml does not declare",
      },
    ]);
  });
});
