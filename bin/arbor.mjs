#!/usr/bin/env node
// Arbor's command line: the compiled JavaScript in dist/ (built by `npm run build`, and by `npm ci`
// through the `prepare` script). `--help`, `--version` and `help` load only the small entry module;
// a command runs from dist/cli.cjs, the same code bundled into one file, which loads in about half
// the CPU time of its ~900 separate modules (see scripts/bundle-cli.mjs).
//
// The bundle is compiled with V8's code cache (Node 20 has no module compile cache): the first
// command writes what V8 compiled beside the bundle, and later ones start from it, ~0.25 s of CPU
// less each. The cache is named by the bundle's modification time and size, so a rebuilt bundle
// never meets an old cache; V8 refuses a cache from another Node version or other V8 flags, and
// the command then compiles as usual and writes a fresh one. A folder it cannot write is no error.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";

const argv = process.argv.slice(2);
const first = argv[0];
const light = first === undefined || first.startsWith("-") || first === "help" || first === "version";
const entry = new URL(light ? "../dist/protocols/cli/index.js" : "../dist/cli.cjs", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("arbor: dist/ is missing or incomplete; run `npm run build` (npm ci runs it too)\n");
  process.exit(1);
}

/** Loads the bundle as CommonJS through a vm.Script with its code cache; `save` writes a new cache when needed. */
const loadBundle = (file) => {
  const { mtimeMs, size } = statSync(file);
  const cacheFile = `${file}.${Math.trunc(mtimeMs)}-${size}.v8cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // no cache yet
  }
  const script = new Script(Module.wrap(readFileSync(file, "utf8")), { filename: file, cachedData });
  const module = { exports: {} };
  script
    .runInThisContext()
    .call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  const save = () => {
    if (cachedData !== undefined && !script.cachedDataRejected) return;
    try {
      const partial = `${cacheFile}.${process.pid}`;
      writeFileSync(partial, script.createCachedData());
      renameSync(partial, cacheFile);
    } catch {
      // a read-only install: every start compiles, as without a cache
    }
  };
  return { main: module.exports.main, save };
};

if (light) {
  const { main } = await import(entry.href);
  process.exitCode = await main(argv);
} else {
  const { main, save } = loadBundle(fileURLToPath(entry));
  process.exitCode = await main(argv);
  save();
}
