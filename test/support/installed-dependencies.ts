/**
 * The packed package's dependencies, seeded into the consumer test's fresh project from the ones
 * this repository already installed.
 *
 * `npm install` of the packed tarball into an empty project spends ~20 s of CPU (30–45 s on a
 * fresh clone) unpacking its ~200 dependencies from npm's cache, though `npm ci` has just unpacked
 * the same versions here. So the test first hard-links, from this repository's node_modules, every
 * package its lockfile marks as not dev-only (the package's own runtime dependencies, at the same
 * place in the tree), plus what the consumer installs beside it and their dependencies. npm then
 * still installs the tarball for real: it unpacks it, links its bin, checks every dependency range
 * against what is there, and fetches or prunes whatever does not match.
 */
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
} from "node:fs";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../..");

interface LockEntry {
  readonly dev?: boolean;
  readonly link?: boolean;
  readonly dependencies?: Record<string, string>;
}

/**
 * Recreates the package folder `from` at `to` with hard links (a copy where linking fails). Its
 * own nested node_modules is left out: the lockfile names those packages separately.
 */
const linkPackage = (from: string, to: string): void => {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") linkPackage(source, target);
    } else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else {
      try {
        linkSync(source, target);
      } catch {
        copyFileSync(source, target);
      }
    }
  }
};

/**
 * The lockfile paths of `names` (top-level packages) and everything they depend on, resolved the
 * way Node does: the nearest node_modules up from the dependent package.
 */
const closure = (packages: Record<string, LockEntry>, names: ReadonlyArray<string>): Set<string> => {
  const found = new Set<string>();
  const resolveFrom = (dependent: string, name: string): string | undefined => {
    for (let base = dependent; ; ) {
      const path = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
      if (packages[path]) return path;
      if (!base) return undefined;
      const cut = base.lastIndexOf("/node_modules/");
      base = cut < 0 ? "" : base.slice(0, cut);
    }
  };
  const visit = (path: string | undefined): void => {
    if (!path || found.has(path)) return;
    found.add(path);
    for (const name of Object.keys(packages[path]?.dependencies ?? {})) visit(resolveFrom(path, name));
  };
  for (const name of names) visit(resolveFrom("", name));
  return found;
};

/**
 * Links into `project`/node_modules this repository's installed runtime dependencies and the
 * installed copies of `extra` (package names, e.g. a dev dependency the consumer also installs),
 * with their dependencies. Returns how many packages it linked (0 when this repository has no
 * node_modules, and npm then installs everything itself).
 */
export const seedDependencies = (project: string, extra: ReadonlyArray<string>): number => {
  const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const wanted = closure(lock.packages, extra);
  for (const [path, entry] of Object.entries(lock.packages))
    if (path && !entry.dev && !entry.link) wanted.add(path);
  let linked = 0;
  for (const path of wanted) {
    const source = join(repo, path);
    if (!existsSync(join(source, "package.json"))) continue; // an optional package for another platform
    linkPackage(source, join(project, path));
    linked++;
  }
  // Their commands too (npm would otherwise unpack a package again to link its missing bin).
  const bins = join(repo, "node_modules", ".bin");
  mkdirSync(join(project, "node_modules", ".bin"), { recursive: true });
  for (const name of existsSync(bins) ? readdirSync(bins) : []) {
    const target = readlinkSync(join(bins, name)); // ../<package>/<file>
    const parts = target.replace(/^\.\.\//, "").split("/");
    const pkg = parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
    if (wanted.has(`node_modules/${pkg}`)) symlinkSync(target, join(project, "node_modules", ".bin", name));
  }
  return linked;
};
