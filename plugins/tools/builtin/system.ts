/**
 * Read-only health signals of the host, for diagnostic agents: `system.load` and `system.memory`
 * (from the OS), and — confined to the tools root like the file tools — `system.disk` (bytes and files
 * under a folder) and `system.log` (the last lines of a log file, optionally only those matching a
 * pattern). Nothing here changes the machine (system-repair.ts holds `system.clear`, which does).
 */
import { createReadStream } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { cpus, freemem, hostname, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { Effect, Schema } from "effect";
import type { ToolDefinition } from "../../../runtime/tool.ts";
import { defineTool } from "../define.ts";
import { confine } from "./files.ts";

const MAX_LOG_LINES = 500;
const MAX_WALK_ENTRIES = 100_000;

/** Bytes and files below `folder` (not following links), stopping after `MAX_WALK_ENTRIES` entries. */
export const folderUsage = async (folder: string) => {
  let bytes = 0;
  let files = 0;
  let seen = 0;
  const pending = [folder];
  while (pending.length > 0 && seen < MAX_WALK_ENTRIES) {
    const dir = pending.pop()!;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      seen++;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile()) {
        files++;
        bytes += (await lstat(path)).size;
      }
    }
  }
  return { bytes, files, truncated: seen >= MAX_WALK_ENTRIES };
};

/** The last `lines` lines of a file, read as a stream so a large log is never held whole. */
const tail = (file: string, lines: number, match: RegExp | undefined) =>
  new Promise<ReadonlyArray<string>>((resolve, reject) => {
    const kept: string[] = [];
    let rest = "";
    const keep = (line: string) => {
      if (match !== undefined && !match.test(line)) return;
      kept.push(line);
      if (kept.length > lines) kept.shift();
    };
    createReadStream(file, "utf8")
      .on("data", (chunk) => {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop() ?? "";
        for (const line of parts) keep(line);
      })
      .on("end", () => {
        if (rest !== "") keep(rest);
        resolve(kept);
      })
      .on("error", reject);
  });

/** The system tools; `root` confines `system.disk` and `system.log` like the file tools. */
export const systemTools = (root: string | undefined): ReadonlyArray<ToolDefinition> => [
  defineTool({
    name: "system.load",
    description: "The host's load average over 1, 5 and 15 minutes, and its number of CPUs.",
    input: Schema.Struct({}),
    run: () =>
      Effect.sync(() => {
        const [one, five, fifteen] = loadavg();
        return JSON.stringify({
          host: hostname(),
          cpus: cpus().length,
          load1: one,
          load5: five,
          load15: fifteen,
        });
      }),
  }),
  defineTool({
    name: "system.memory",
    description: "The host's total and free memory in bytes, and the share in use.",
    input: Schema.Struct({}),
    run: () =>
      Effect.sync(() => {
        const total = totalmem();
        const free = freemem();
        return JSON.stringify({
          host: hostname(),
          totalBytes: total,
          freeBytes: free,
          usedShare: Number(((total - free) / total).toFixed(3)),
        });
      }),
  }),
  defineTool({
    name: "system.disk",
    description: "Bytes and files in a folder under the workspace root (not following links).",
    input: Schema.Struct({
      path: Schema.optional(Schema.String.annotations({ description: "folder relative to the root" })),
    }),
    run: ({ path }, ctx) =>
      Effect.gen(function* () {
        const { target } = yield* confine(ctx, root, path ?? ".");
        const measured = yield* Effect.tryPromise({
          try: () => folderUsage(target),
          catch: (error) => `${path ?? "."}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        });
        return JSON.stringify({ path: path ?? ".", ...measured });
      }),
  }),
  defineTool({
    name: "system.log",
    description:
      "The last lines of a log file under the workspace root, optionally only lines matching a pattern.",
    input: Schema.Struct({
      path: Schema.String.annotations({ description: "log file relative to the root" }),
      lines: Schema.optional(Schema.Int.pipe(Schema.between(1, MAX_LOG_LINES))),
      match: Schema.optional(
        Schema.String.annotations({ description: "a regular expression lines must match" }),
      ),
    }),
    run: ({ path, lines, match }, ctx) =>
      Effect.gen(function* () {
        const { target } = yield* confine(ctx, root, path);
        let pattern: RegExp | undefined;
        if (match !== undefined) {
          try {
            pattern = new RegExp(match);
          } catch (error) {
            return yield* Effect.fail(`match is not a regular expression: ${(error as Error).message}`);
          }
        }
        const found = yield* Effect.tryPromise({
          try: () => tail(target, lines ?? 20, pattern),
          catch: (error) => `${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        });
        return found.join("\n");
      }),
  }),
];
