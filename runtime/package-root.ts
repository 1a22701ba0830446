/**
 * The folder of the installed `arbor-agents` package (or of this clone), found from this file in the
 * sources or in `dist/` alike: data that ships with the package (the inspector's assets, the role
 * catalog) is read from there.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The nearest folder at or above `from` whose package.json is package `name` (with its version),
 * or undefined: how a package's own folder is found from one of its files.
 */
export const packageDirOf = (
  from: string,
  name: string,
): { readonly dir: string; readonly version: string | undefined } | undefined => {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version?: string };
      if (parsed.name === name) return { dir, version: parsed.version };
    }
    if (dirname(dir) === dir) return undefined;
  }
};

let found: string | undefined;

/** This package's folder (see the module comment). */
export const packageRoot = (): string => {
  if (found !== undefined) return found;
  const own = packageDirOf(dirname(fileURLToPath(import.meta.url)), "arbor-agents");
  if (own === undefined) throw new Error("arbor-agents: cannot find the package's own folder");
  found = own.dir;
  return found;
};
