/**
 * Vitest's own order (failed, then longest, first; on a first run, largest files first), except
 * while the PGlite test templates are still being made (a fresh clone, see vitest.setup.ts): then
 * the files that need no database go first, so both workers have work while one core makes them.
 * A file that needs a database and runs early anyway simply waits for its template.
 */
import { readFileSync } from "node:fs";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { templatePaths, templateReady } from "./pglite-template.ts";

/** The helpers that hand a test a database: a file importing one of them needs a template. */
const usesDatabase = /seeded-data-dir|knowledge\/support|durable-support/;

export class TemplatesFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const { bare, schema } = templatePaths();
    if (templateReady(bare) && templateReady(schema)) return sorted;
    const needs = (file: TestSpecification) =>
      file.moduleId.includes("/test/knowledge/") || usesDatabase.test(readFileSync(file.moduleId, "utf8"));
    return [...sorted.filter((f) => !needs(f)), ...sorted.filter(needs)];
  }
}
