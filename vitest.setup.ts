/**
 * Vitest global setup: builds dist/ (the compiled package the `arbor` bin and the consumer test
 * use) when it is missing or older than a source file, so CLI tests always run current code; and
 * provides the created PGlite data dir that tests copy instead of creating their own.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ensurePgliteTemplate, ensureSchemaTemplate } from "./test/support/pglite-template.ts";

const sources = ["index.ts", "runtime", "plugins", "agents", "knowledge", "protocols"];

const newest = (path: string): number => {
  const stat = statSync(path);
  if (!stat.isDirectory()) return path.endsWith(".ts") ? stat.mtimeMs : 0;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
};

export default async function setup(project: TestProject): Promise<void> {
  build();
  const bare = await ensurePgliteTemplate();
  project.provide("pgliteTemplate", bare);
  project.provide("pgliteSchemaTemplate", await ensureSchemaTemplate(bare));
}

const build = (): void => {
  let built = 0;
  try {
    built = Math.min(statSync("dist/index.js").mtimeMs, statSync("dist/cli.cjs").mtimeMs);
  } catch {
    // not built yet
  }
  const inputs = [
    ...sources.map(newest),
    statSync("tsconfig.build.json").mtimeMs,
    statSync("scripts/bundle-cli.mjs").mtimeMs,
  ];
  if (built >= Math.max(...inputs)) return;
  // The package's own build (tsc, then the CLI bundle), as `npm ci` runs it.
  execFileSync("npm", ["run", "--silent", "build"], { stdio: "inherit" });
};
