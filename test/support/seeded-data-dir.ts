/**
 * Fresh embedded databases for tests, copied from the template the global setup provides
 * (see pglite-template.ts): the cost of opening a database, not of creating one.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { inject } from "vitest";
import { templateReady } from "./pglite-template.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The template data dir made by the global setup: created, not migrated. */
    readonly pgliteTemplate: string;
    /** The same after Arbor's migrations for the default embedder's dimension. */
    readonly pgliteSchemaTemplate: string;
    /** A file the global setup writes (with the reason) if making the templates failed. */
    readonly pgliteTemplateFailure: string;
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * The template's path once it is complete. On a fresh clone the global setup is still making it
 * in a child process, so this waits for it to appear (checking every 50 ms), or for the setup's
 * report that making it failed.
 */
const templateDir = (name: "pgliteTemplate" | "pgliteSchemaTemplate"): string => {
  const dir = inject(name);
  const failure = inject("pgliteTemplateFailure");
  while (!templateReady(dir)) {
    if (existsSync(failure))
      throw new Error(`the test database template was not made:\n${readFileSync(failure, "utf8")}`);
    Atomics.wait(pause, 0, 0, 50);
  }
  return dir;
};

/**
 * A fresh data dir for one test (or one spawned `arbor`): a copy of a template in a new temporary
 * folder, as `<tmp>/data`. `"schema"` (the default) is already migrated for the default embedder;
 * `"bare"` is a created database Arbor has not touched (for another embedding dimension, or to
 * watch the migrations run). Remove it with `removeDataDir` when done.
 */
export const seededDataDir = (prefix = "arbor-data-", which: "schema" | "bare" = "schema"): string => {
  const dir = join(mkdtempSync(join(tmpdir(), prefix)), "data");
  cpSync(templateDir(which === "schema" ? "pgliteSchemaTemplate" : "pgliteTemplate"), dir, {
    recursive: true,
  });
  return dir;
};

/** Deletes a data dir made by `seededDataDir`, with the temporary folder around it. */
export const removeDataDir = (dir: string): void => rmSync(dirname(dir), { recursive: true, force: true });

/** A PGlite with pgvector on a fresh copy of the template; `close` also deletes the copy. */
export const seededPglite = async (): Promise<{
  readonly db: PGlite;
  readonly close: () => Promise<void>;
}> => {
  const dir = seededDataDir("arbor-pglite-", "bare");
  const db = await PGlite.create(dir, { extensions: { vector } });
  await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
  return {
    db,
    close: async () => {
      await db.close();
      removeDataDir(dir);
    },
  };
};
