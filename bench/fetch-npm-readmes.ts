/**
 * Fetches a known-item corpus of npm READMEs from the registry, for the retrieval bench's
 * `ARBOR_BENCH_CORPUS` (`bench/retrieval.ts`): one JSON line per package, `{id, query, text}`, the
 * query its `package.json` description and the text its README (verbatim in about a third).
 *
 *   npx tsx bench/fetch-npm-readmes.ts <out.jsonl> [count, default 2400]
 *
 * Packages are found breadth first from the dependencies of this repository's `node_modules`,
 * following each package's latest dependencies, each README read from the latest tarball; the packages in `node_modules` themselves are
 * left out (the `readme` corpus, on which the fusion weights were tuned, is theirs). Needs the
 * npm registry (`NPM_REGISTRY`, default https://registry.npmjs.org), and so it is not part of the
 * offline bench. The registry changes, so two runs on different days fetch different corpora:
 * keep the file to compare runs.
 */
import { createWriteStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseTarGzip } from "nanotar";
import { packageDirs } from "./corpus.ts";

const [out, countArg] = process.argv.slice(2);
if (!out) {
  process.stderr.write("usage: npx tsx bench/fetch-npm-readmes.ts <out.jsonl> [count]\n");
  process.exit(2);
}
const count = Number(countArg ?? 2400);
const registry = (process.env.NPM_REGISTRY ?? "https://registry.npmjs.org").replace(/\/$/, "");
const modules = join(import.meta.dirname, "..", "node_modules");
/** Manifests and tarballs larger than this are skipped. */
const MAX_BYTES = 20_000_000;
/** Packages asked for at once. */
const BATCH = 32;

interface Manifest {
  readonly name?: string;
  readonly description?: string;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
}

const dependencies = (m: Manifest): string[] => [
  ...Object.keys(m.dependencies ?? {}),
  ...Object.keys(m.devDependencies ?? {}),
];

const local = new Set<string>();
const queue: string[] = [];
const queued = new Set<string>();
const enqueue = (name: string) => {
  if (!queued.has(name)) {
    queued.add(name);
    queue.push(name);
  }
};
for (const dir of packageDirs(modules)) {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
    if (manifest.name) local.add(manifest.name);
    for (const d of dependencies(manifest)) enqueue(d);
  } catch {}
}

const get = async (url: string): Promise<Response | undefined> => {
  const response = await fetch(url);
  if (response.ok && Number(response.headers.get("content-length") ?? 0) <= MAX_BYTES) return response;
  await response.body?.cancel();
  return undefined;
};

/** `package/README.md` and the like, at the top of a package's tarball. */
const README = /^[^/]+\/readme(\.md|\.markdown|\.txt)?$/i;

/**
 * A package's latest dependencies, and unless it is in `node_modules` or its description is too
 * short to be a query, its description and the README of its latest tarball (a registry's
 * documents may carry none: this machine's mirror strips them); undefined if unreadable.
 */
const fetchPackage = async (
  name: string,
): Promise<{ readme?: string; description?: string; next: string[] } | undefined> => {
  try {
    const latest = (await (await get(`${registry}/${name.replace("/", "%2F")}/latest`))?.json()) as
      | (Manifest & { dist?: { tarball?: string } })
      | undefined;
    if (!latest) return undefined;
    const next = dependencies(latest);
    const description = (latest.description ?? "").trim();
    if (local.has(name) || description.split(/\s+/).length < 3 || !latest.dist?.tarball) return { next };
    const tarball = await get(latest.dist.tarball);
    if (!tarball) return { next };
    const files = await parseTarGzip(await tarball.arrayBuffer(), { filter: (f) => README.test(f.name) });
    const readme = files[0]?.data ? new TextDecoder().decode(files[0].data).trim() : "";
    return { readme, description, next };
  } catch {
    return undefined;
  }
};

const file = createWriteStream(out);
let written = 0;
let asked = 0;
while (queue.length > 0 && written < count) {
  const batch = queue.splice(0, BATCH);
  const found = await Promise.all(batch.map(async (name) => [name, await fetchPackage(name)] as const));
  for (const [name, pkg] of found) {
    asked++;
    if (!pkg) continue;
    for (const d of pkg.next) enqueue(d);
    if (!pkg.readme || !pkg.description || pkg.readme.length < 400 || written >= count) continue;
    if (pkg.readme.includes("ERROR: No README data found")) continue;
    file.write(`${JSON.stringify({ id: name, query: pkg.description, text: pkg.readme })}\n`);
    written++;
  }
  process.stderr.write(`\r${written} READMEs from ${asked} packages`);
}
file.end();
process.stderr.write(`\n${out}: ${written} READMEs\n`);
