/**
 * Applies roles to a tree spec before it is validated: an agent with `role: critic` (and optionally
 * `promptStyle: xml`, `promptVars: {…}`) gets the role's prompt as its `instructions` (unless it
 * writes its own), the role's temperature and max tokens where its model sets none, and the role's
 * tools as `tools.allow` where it configures no tools (when a tools plugin is loaded). Unknown roles,
 * styles and variables are problems by path.
 */
import { Either } from "effect";
import type { Problem } from "../../runtime/errors.ts";
import { didYouMean } from "../../runtime/suggest.ts";
import { type PromptStyle, promptStyles, type RoleDefinition, renderPrompt } from "./catalog.ts";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const expandAgent = (
  node: unknown,
  path: string,
  roles: ReadonlyMap<string, RoleDefinition>,
  problems: Problem[],
  withTools: boolean,
): unknown => {
  if (!isRecord(node)) return node;
  const children = Array.isArray(node.children)
    ? node.children.map((child, i) =>
        expandAgent(child, `${path}.children[${i}]`, roles, problems, withTools),
      )
    : undefined;
  // An agent with no role and no role options, whose children stay as they were, is kept as it is
  // (a copy per agent would be held by every idle agent of the tree).
  if (
    node.role === undefined &&
    node.promptStyle === undefined &&
    node.promptVars === undefined &&
    (children === undefined || children.every((child, i) => child === (node.children as unknown[])[i]))
  )
    return node;
  const { promptStyle, promptVars, ...rest } = node;
  const out: Record<string, unknown> = { ...rest };
  if (children !== undefined) out.children = children;
  const roleName = node.role;
  if (typeof roleName !== "string") {
    if (promptStyle !== undefined)
      problems.push({
        path: `${path}.promptStyle`,
        message: "promptStyle needs a role (role: planner, critic, …)",
      });
    if (promptVars !== undefined)
      problems.push({
        path: `${path}.promptVars`,
        message: "promptVars needs a role (role: planner, critic, …)",
      });
    return out;
  }
  const role = roles.get(roleName);
  if (role === undefined) {
    const names = [...roles.keys()];
    problems.push({
      path: `${path}.role`,
      message: `unknown role "${roleName}"${didYouMean(roleName, names) || ` (roles: ${names.join(", ")})`}`,
    });
    return out;
  }
  let style: PromptStyle = "plain";
  if (promptStyle !== undefined) {
    if (typeof promptStyle === "string" && (promptStyles as ReadonlyArray<string>).includes(promptStyle))
      style = promptStyle as PromptStyle;
    else
      problems.push({
        path: `${path}.promptStyle`,
        message: `expected one of "plain", "xml", "cot"; got ${JSON.stringify(promptStyle)}${typeof promptStyle === "string" ? didYouMean(promptStyle, promptStyles) : ""}`,
      });
  }
  const vars: Record<string, string> = {};
  if (promptVars !== undefined && !isRecord(promptVars))
    problems.push({ path: `${path}.promptVars`, message: "expected an object of variable: text" });
  const declared = role.variables.map((v) => v.name);
  for (const [name, value] of Object.entries(isRecord(promptVars) ? promptVars : {})) {
    if (!declared.includes(name))
      problems.push({
        path: `${path}.promptVars.${name}`,
        message: `role ${roleName} has no variable "${name}"${didYouMean(name, declared) || ` (variables: ${declared.join(", ") || "none"})`}`,
      });
    else if (typeof value !== "string")
      problems.push({ path: `${path}.promptVars.${name}`, message: "expected text" });
    else vars[name] = value;
  }
  for (const variable of role.variables)
    if (variable.default === undefined && vars[variable.name] === undefined)
      problems.push({
        path: `${path}.promptVars`,
        message: `role ${roleName} needs the variable "${variable.name}"`,
      });
  if (out.instructions === undefined) out.instructions = renderPrompt(role, style, vars);
  if (isRecord(node.model)) {
    const model = { ...node.model };
    if (model.temperature === undefined && role.model.temperature !== undefined)
      model.temperature = role.model.temperature;
    if (model.maxTokens === undefined && role.model.maxTokens !== undefined)
      model.maxTokens = role.model.maxTokens;
    out.model = model;
  }
  if (withTools && node.tools === undefined && role.tools.length > 0) out.tools = { allow: [...role.tools] };
  return out;
};

/** The spec with every agent's role applied, or the problems found. */
export const expandRoles = (
  spec: Readonly<Record<string, unknown>>,
  roles: ReadonlyMap<string, RoleDefinition>,
  /** Whether a tools plugin is loaded: only then does a role's tool list become `tools.allow`. */
  withTools = true,
): Either.Either<Record<string, unknown>, ReadonlyArray<Problem>> => {
  if (!isRecord(spec.root)) return Either.right({ ...spec });
  const problems: Problem[] = [];
  const root = expandAgent(spec.root, "$.root", roles, problems, withTools);
  return problems.length > 0 ? Either.left(problems) : Either.right({ ...spec, root });
};
