#!/usr/bin/env node
// Arbor's command line: the compiled JavaScript in dist/ (built by `npm run build`, and by `npm ci`
// through the `prepare` script). `--help`, `--version` and `help` load only the small entry module;
// a command runs from dist/cli.cjs, the same code bundled into one file, which loads in about half
// the CPU time of its ~900 separate modules (see scripts/bundle-cli.mjs).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const argv = process.argv.slice(2);
const first = argv[0];
const light = first === undefined || first.startsWith("-") || first === "help" || first === "version";
const entry = new URL(light ? "../dist/protocols/cli/index.js" : "../dist/cli.cjs", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("arbor: dist/ is missing or incomplete; run `npm run build` (npm ci runs it too)\n");
  process.exit(1);
}
const { main } = light ? await import(entry.href) : createRequire(import.meta.url)(fileURLToPath(entry));
process.exitCode = await main(argv);
