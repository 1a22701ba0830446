/**
 * The role catalog: one folder per role, holding `role.yaml` (description, default model settings,
 * allowed tools, declared template variables) and one prompt template per style (`plain.md`,
 * `xml.md`, `cot.md`). The built-in roles ship in `agents/roles/catalog/`; a user's folder
 * (`agents.rolesDir` in the config) adds roles or replaces built-in ones of the same name.
 * Every role is checked when loaded: a template that uses an undeclared variable is refused.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Either, Schema } from "effect";
import { parse as parseYaml } from "yaml";
import { problemsOf } from "../../runtime/problems.ts";

/** The prompt styles: plain prose, XML-structured (Claude-style), chain of thought. */
export const promptStyles = ["plain", "xml", "cot"] as const;
export type PromptStyle = (typeof promptStyles)[number];

const RoleFile = Schema.Struct({
  description: Schema.String.pipe(Schema.minLength(1)),
  model: Schema.optional(
    Schema.Struct({
      temperature: Schema.optional(Schema.Number.pipe(Schema.between(0, 2))),
      maxTokens: Schema.optional(Schema.Int.pipe(Schema.positive())),
    }),
  ),
  tools: Schema.optional(Schema.Array(Schema.String)),
  variables: Schema.optional(
    Schema.Array(
      Schema.Struct({
        name: Schema.String.pipe(Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]*$/)),
        default: Schema.optional(Schema.String),
      }),
    ),
  ),
});

/** One role, loaded and checked. */
export interface RoleDefinition {
  readonly name: string;
  readonly description: string;
  readonly model: { readonly temperature?: number; readonly maxTokens?: number };
  readonly tools: ReadonlyArray<string>;
  readonly variables: ReadonlyArray<{ readonly name: string; readonly default?: string }>;
  readonly prompts: Readonly<Record<PromptStyle, string>>;
  /** Where it was loaded from (for messages). */
  readonly folder: string;
}

/** A role folder that could not be loaded, and why. */
export interface RoleProblem {
  readonly folder: string;
  readonly message: string;
}

const placeholders = (template: string) =>
  [...template.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1]!);

const loadRole = (
  folder: string,
  name: string,
): Either.Either<RoleDefinition, ReadonlyArray<RoleProblem>> => {
  const problems: RoleProblem[] = [];
  const file = join(folder, "role.yaml");
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, "utf8"));
  } catch (error) {
    return Either.left([{ folder, message: `role.yaml: ${(error as Error).message}` }]);
  }
  const decoded = Schema.decodeUnknownEither(RoleFile, { errors: "all", onExcessProperty: "error" })(raw);
  if (Either.isLeft(decoded))
    return Either.left(
      problemsOf(decoded.left).map((p) => ({ folder, message: `role.yaml ${p.path}: ${p.message}` })),
    );
  const role = decoded.right;
  const declared = new Set((role.variables ?? []).map((v) => v.name));
  const prompts: Partial<Record<PromptStyle, string>> = {};
  for (const style of promptStyles) {
    const path = join(folder, `${style}.md`);
    if (!existsSync(path)) {
      problems.push({ folder, message: `missing ${style}.md (every role has plain.md, xml.md and cot.md)` });
      continue;
    }
    const template = readFileSync(path, "utf8").trim();
    for (const variable of placeholders(template))
      if (!declared.has(variable))
        problems.push({
          folder,
          message: `${style}.md uses {{${variable}}}, which role.yaml does not declare`,
        });
    prompts[style] = template;
  }
  if (problems.length > 0) return Either.left(problems);
  return Either.right({
    name,
    description: role.description,
    model: role.model ?? {},
    tools: role.tools ?? [],
    variables: role.variables ?? [],
    prompts: prompts as Record<PromptStyle, string>,
    folder,
  });
};

/** Loads every role folder under each of `folders`; later folders replace roles of the same name. */
export const loadRoles = (
  folders: ReadonlyArray<string>,
): { readonly roles: ReadonlyMap<string, RoleDefinition>; readonly problems: ReadonlyArray<RoleProblem> } => {
  const roles = new Map<string, RoleDefinition>();
  const problems: RoleProblem[] = [];
  for (const folder of folders) {
    if (!existsSync(folder) || !statSync(folder).isDirectory()) {
      problems.push({ folder, message: "not a folder of roles" });
      continue;
    }
    for (const name of readdirSync(folder).sort()) {
      const roleFolder = join(folder, name);
      if (!statSync(roleFolder).isDirectory() || !existsSync(join(roleFolder, "role.yaml"))) continue;
      const loaded = loadRole(roleFolder, name);
      if (Either.isLeft(loaded)) problems.push(...loaded.left);
      else roles.set(name, loaded.right);
    }
  }
  return { roles, problems };
};

/** Fills a role's template: declared variables from `vars`, else their defaults. */
export const renderPrompt = (
  role: RoleDefinition,
  style: PromptStyle,
  vars: Readonly<Record<string, string>>,
): string =>
  role.prompts[style].replace(
    /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g,
    (_whole, name: string) => vars[name] ?? role.variables.find((v) => v.name === name)?.default ?? "",
  );
