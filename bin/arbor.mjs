#!/usr/bin/env node
// Arbor's command line: the compiled JavaScript in dist/ (built by `npm run build`, and by `npm ci`
// through the `prepare` script). Commands load their modules lazily, so `--help` starts at once.
import { existsSync } from "node:fs";

const entry = new URL("../dist/protocols/cli/index.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("arbor: dist/ is missing; run `npm run build` (npm ci runs it too)\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
