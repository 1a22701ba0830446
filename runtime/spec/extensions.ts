/**
 * Running the plugins' spec extensions (roles, workflows) around compilation: `expandSpec` before
 * validation, `checkExtensions` after, with the agents named by their paths below the root.
 */
import { Either } from "effect";
import type { Problem } from "../errors.ts";
import type { SpecExtension } from "../plugin.ts";

/** A tree of agents as both the compiler and `inspect` give it: a name and children. */
interface Named {
  readonly name: string;
  readonly children: ReadonlyArray<Named>;
}

/** Every agent's path below the root (`""` for the root, `researcher`, `team/critic`). */
export const agentPaths = (root: Named): ReadonlySet<string> => {
  const paths = new Set<string>();
  const walk = (agent: Named, prefix: string) => {
    paths.add(prefix);
    for (const child of agent.children) walk(child, prefix === "" ? child.name : `${prefix}/${child.name}`);
  };
  walk(root, "");
  return paths;
};

/** Runs each extension's `expand` in registration order; problems of all of them are gathered. */
export const expandSpec = (
  raw: Record<string, unknown>,
  extensions: ReadonlyArray<SpecExtension>,
  sections: ReadonlySet<string>,
): Either.Either<Record<string, unknown>, ReadonlyArray<Problem>> => {
  let spec = raw;
  const problems: Problem[] = [];
  for (const extension of extensions) {
    if (extension.expand === undefined) continue;
    const result = extension.expand(spec, { sections });
    if (Either.isLeft(result)) problems.push(...result.left);
    else spec = result.right;
  }
  return problems.length > 0 ? Either.left(problems) : Either.right(spec);
};

/** Each extension's `check` of the spec against the compiled tree's agents. */
export const checkExtensions = (
  raw: Readonly<Record<string, unknown>>,
  root: Named,
  extensions: ReadonlyArray<SpecExtension>,
): ReadonlyArray<Problem> => {
  const paths = agentPaths(root);
  return extensions.flatMap((extension) => extension.check?.(raw, paths) ?? []);
};
