/**
 * The order test files start in, on two workers where the slowest files decide when the run ends.
 *
 * - Vitest's own order when every file has a duration from an earlier run (failed, then longest,
 *   first).
 * - On a first run (a fresh clone) vitest knows no durations and starts the largest files first,
 *   which leaves the slow ones, those that start `arbor` processes, npm or a browser, wherever their
 *   size puts them, and a slow file starting last ends the run alone (the Cypher test did, 7 s
 *   after every other file). So those go first.
 * - While the PGlite test templates are still being made (see vitest.setup.ts), the first two files
 *   are ones that need no database, so both workers have work while one core makes them. A file
 *   that needs a database and starts early anyway simply waits for its template.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { templatePaths, templateReady } from "./pglite-template.ts";

/**
 * A file that starts the CLI, npm or a browser (seconds of CPU per test), or that runs Neo4j's
 * Cypher analysis (~7 s for the adapter's statements).
 */
const startsProcesses = /arbor\.mjs|"npm"|"npx"|chromium|language-support/;

/** The helpers that hand a test a database: a file importing one of them needs a template. */
const usesDatabase = /seeded-data-dir|knowledge\/support|durable-support/;

/** A file that opens databases or starts MCP servers (over stdio): seconds of CPU, less than `startsProcesses`. */
const opensMore = new RegExp(
  `${usesDatabase.source}|server-(everything|filesystem|memory)|StdioClientTransport`,
);

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    let sorted = await super.sort(files);
    const text = new Map(sorted.map((f) => [f, readFileSync(f.moduleId, "utf8")]));
    const known = sorted.every((f) =>
      this.ctx.cache.getFileTestResults(`${f.project.name}:${relative(this.ctx.config.root, f.moduleId)}`),
    );
    if (!known) {
      // Then the files that open databases or start MCP servers (seconds each), then the rest.
      const tier = (f: TestSpecification) =>
        startsProcesses.test(text.get(f)!)
          ? 0
          : f.moduleId.includes("/test/knowledge/") || opensMore.test(text.get(f)!)
            ? 1
            : 2;
      sorted = [0, 1, 2].flatMap((t) => sorted.filter((f) => tier(f) === t));
    }
    const { bare, schema } = templatePaths();
    if (templateReady(bare) && templateReady(schema)) return sorted;
    const needs = (f: TestSpecification) =>
      f.moduleId.includes("/test/knowledge/") || usesDatabase.test(text.get(f)!);
    const opening = sorted.filter((f) => !needs(f)).slice(0, 2);
    return [...opening, ...sorted.filter((f) => !opening.includes(f))];
  }
}
