/**
 * The packed package's installed dependencies, kept between runs of the consumer test.
 *
 * `npm install` of the packed tarball into a fresh project spends most of its ~19 s of CPU
 * extracting the ~200 dependencies from npm's cache. They change only when the package's
 * dependency list does, so after a full install the test keeps a hard-linked copy of the project's
 * node_modules (without arbor-agents itself) in node_modules/.cache, keyed by that list; the next
 * run links it into its fresh project before `npm install <tarball>`, which then still installs
 * the tarball for real (unpacks it, links its bin, checks every dependency range against what is
 * there) but has nothing else to unpack. Delete node_modules/.cache/arbor-test to force a full install.
 */
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../..");
const cache = join(repo, "node_modules", ".cache", "arbor-test");

/**
 * The cache folder for the dependencies of this package plus `extra` (what the consumer installs
 * beside it), under this Node version.
 */
const folderFor = (extra: ReadonlyArray<string>): string => {
  const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as Record<string, unknown>;
  const key = createHash("sha256")
    .update(
      JSON.stringify([
        pkg.dependencies,
        pkg.peerDependencies,
        pkg.optionalDependencies,
        extra,
        process.version,
      ]),
    )
    .digest("hex")
    .slice(0, 16);
  return join(cache, `consumer-deps-${key}`);
};

/**
 * Recreates `from` at `to` with hard links (a copy where linking fails), leaving out the entries
 * `skip` names by their path below `from`. npm's hidden lockfile is not kept: npm rewrites it in
 * place, and reads the folders themselves without it.
 */
const linkTree = (from: string, to: string, skip: ReadonlySet<string>, below = ""): void => {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const path = below ? `${below}/${entry.name}` : entry.name;
    if (skip.has(path) || path === ".package-lock.json") continue;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) linkTree(source, target, skip, path);
    else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
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
 * Links the kept dependencies into `project`/node_modules; false when none are kept for this
 * dependency list yet.
 */
export const linkKeptDependencies = (project: string, extra: ReadonlyArray<string>): boolean => {
  const kept = folderFor(extra);
  if (!existsSync(join(kept, "done"))) return false;
  linkTree(join(kept, "node_modules"), join(project, "node_modules"), new Set());
  return true;
};

/**
 * Keeps `project`'s installed dependencies (all but this package and its bins) for the next run;
 * made under a temporary name then renamed, so two suites at once never see half of it.
 */
export const keepDependencies = (project: string, extra: ReadonlyArray<string>): void => {
  const kept = folderFor(extra);
  if (existsSync(kept)) return;
  const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
    name: string;
    bin?: Record<string, string>;
  };
  const own = new Set([pkg.name, ...Object.keys(pkg.bin ?? {}).map((bin) => `.bin/${bin}`)]);
  mkdirSync(cache, { recursive: true });
  const building = mkdtempSync(join(cache, "building-"));
  linkTree(join(project, "node_modules"), join(building, "node_modules"), own);
  mkdirSync(join(building, "done"));
  try {
    renameSync(building, kept);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another run kept its copy first
  }
};
