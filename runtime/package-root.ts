/**
 * The folder of the installed `arbor-agents` package (or of this clone), found from this file in the
 * sources or in `dist/` alike: data that ships with the package (the inspector's assets, the role
 * catalog) is read from there.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let found: string | undefined;

export const packageRoot = (): string => {
  if (found !== undefined) return found;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "arbor-agents"
    ) {
      found = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("arbor-agents: cannot find the package's own folder");
    dir = parent;
  }
};
