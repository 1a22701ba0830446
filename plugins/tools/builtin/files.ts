/**
 * `read_file`, `write_file` and `list_dir`, confined to a root directory: the agent's
 * `tools.root` from the spec (inside the configured root, when there is one), else the root the
 * tools plugin was configured with. Absolute paths, `..` escapes and symbolic links that lead out
 * of the root are refused.
 */
import { constants } from "node:fs";
import { lstat, mkdir, open, readdir, readFile, realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { Effect, Schema } from "effect";
import type { ToolContext, ToolDefinition } from "../../../runtime/tool.ts";
import { defineTool } from "../define.ts";
import { readToolSettings } from "../settings.ts";

const attempt = <A>(what: string, run: () => Promise<A>): Effect.Effect<A, string> =>
  Effect.tryPromise({
    try: run,
    catch: (error) => {
      const code = (error as { code?: string }).code;
      if (code === "ENOENT") return `${what}: no such file or directory`;
      if (code === "EISDIR") return `${what}: is a directory`;
      if (code === "ENOTDIR") return `${what}: not a directory`;
      if (code === "ELOOP") return `${what}: is a symbolic link; write to the file it points to`;
      return `${what}: ${error instanceof Error ? error.message : String(error)}`;
    },
  });

const within = (root: string, path: string) => {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
};

/** The nearest existing ancestor of `path` (itself included), for paths about to be created. */
const nearestExisting = async (path: string): Promise<string> => {
  let current = path;
  for (;;) {
    try {
      await lstat(current);
      return current;
    } catch {
      const parent = dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
};

/**
 * Resolves a path an agent gave against its root, refusing anything that leaves it.
 * Gotcha: the check follows symbolic links (through `realpath`), so a link inside the root that
 * points outside is refused even though its name looks harmless.
 */
export const confine = (
  ctx: ToolContext,
  fallbackRoot: string | undefined,
  path: string,
): Effect.Effect<{ readonly root: string; readonly target: string }, string> =>
  Effect.gen(function* () {
    const fromSpec = readToolSettings(ctx.agent.settings.tools).root;
    const configured = fromSpec ?? fallbackRoot;
    if (configured === undefined)
      return yield* Effect.fail("file tools are not configured: set tools.root in the config or the spec");
    if (fromSpec !== undefined && fallbackRoot !== undefined) {
      const [outer, inner] = yield* Effect.all([
        attempt("root", () => realpath(fallbackRoot)),
        attempt("root", () => realpath(fromSpec)),
      ]);
      if (!within(outer, inner))
        return yield* Effect.fail(
          `the spec's tools.root ${fromSpec} is outside the configured root ${fallbackRoot}`,
        );
    }
    if (isAbsolute(path))
      return yield* Effect.fail(`absolute paths are refused: give a path relative to the root`);
    const root = yield* attempt("root", () => realpath(configured));
    const target = resolve(root, path);
    if (!within(root, target)) return yield* Effect.fail(`path ${path} leaves the root`);
    const existing = yield* attempt(path, () => nearestExisting(target));
    const real = yield* attempt(path, () => realpath(existing));
    if (!within(root, real))
      return yield* Effect.fail(`path ${path} leads out of the root through a symbolic link`);
    return { root, target };
  });

const MAX_READ_BYTES = 1_000_000;
/** Most folders a written path may sit below the root, and its longest length: an agent cannot build a 2,000-folder chain. */
const MAX_WRITE_DEPTH = 32;
const MAX_WRITE_PATH_CHARS = 1024;

/** Why a path to be written is refused for its shape, or `undefined`. */
const writePathProblem = (root: string, target: string, path: string): string | undefined => {
  const rel = relative(root, target);
  const folders = rel.split(sep).length - 1;
  if (folders > MAX_WRITE_DEPTH)
    return `${path.slice(0, 80)}…: ${folders} folders deep; write_file creates at most ${MAX_WRITE_DEPTH} levels below the root`;
  if (rel.length > MAX_WRITE_PATH_CHARS)
    return `${path.slice(0, 80)}…: ${rel.length} characters; write_file paths are at most ${MAX_WRITE_PATH_CHARS}`;
  return undefined;
};

/** The three file tools. `root` is the fallback root for agents whose spec sets none. */
export const fileTools = (root: string | undefined): ReadonlyArray<ToolDefinition> => [
  defineTool({
    name: "read_file",
    description: "Read a UTF-8 text file under the workspace root. Paths are relative to the root.",
    input: Schema.Struct({ path: Schema.String.annotations({ description: "path relative to the root" }) }),
    run: ({ path }, ctx) =>
      Effect.gen(function* () {
        const { target } = yield* confine(ctx, root, path);
        const info = yield* attempt(path, () => lstat(target));
        if (info.isDirectory()) return yield* Effect.fail(`${path}: is a directory (use list_dir)`);
        if (info.size > MAX_READ_BYTES)
          return yield* Effect.fail(
            `${path}: ${info.size} bytes is over the ${MAX_READ_BYTES} byte read limit`,
          );
        return yield* attempt(path, () => readFile(target, "utf8"));
      }),
  }),
  defineTool({
    name: "write_file",
    description:
      "Write a UTF-8 text file under the workspace root, creating parent folders. Set append to add to the end.",
    input: Schema.Struct({
      path: Schema.String.annotations({ description: "path relative to the root" }),
      content: Schema.String,
      append: Schema.optional(Schema.Boolean),
    }),
    run: ({ path, content, append }, ctx) =>
      Effect.gen(function* () {
        const confined = yield* confine(ctx, root, path);
        const shape = writePathProblem(confined.root, confined.target, path);
        if (shape !== undefined) return yield* Effect.fail(shape);
        yield* attempt(path, () => mkdir(dirname(confined.target), { recursive: true }));
        // Check again after creating folders, then write through a handle that refuses to follow a
        // symbolic link: a link swapped in after the check cannot redirect the write out of the root.
        const folder = yield* attempt(path, () => realpath(dirname(confined.target)));
        if (!within(confined.root, folder))
          return yield* Effect.fail(`path ${path} leads out of the root through a symbolic link`);
        const final = join(folder, basename(confined.target));
        const flags =
          constants.O_WRONLY |
          constants.O_CREAT |
          constants.O_NOFOLLOW |
          (append ? constants.O_APPEND : constants.O_TRUNC);
        yield* attempt(path, async () => {
          const handle = await open(final, flags, 0o644);
          try {
            await handle.writeFile(content);
          } finally {
            await handle.close();
          }
        });
        return `wrote ${Buffer.byteLength(content)} bytes to ${path}`;
      }),
  }),
  defineTool({
    name: "list_dir",
    description: "List a folder under the workspace root; folders end with '/'. Without a path, the root.",
    input: Schema.Struct({ path: Schema.optional(Schema.String) }),
    run: ({ path }, ctx) =>
      Effect.gen(function* () {
        const { target } = yield* confine(ctx, root, path ?? ".");
        const entries = yield* attempt(path ?? ".", () => readdir(target, { withFileTypes: true }));
        return entries
          .map((entry) => (entry.isDirectory() ? `${entry.name}/` : entry.name))
          .sort()
          .join("\n");
      }),
  }),
];
