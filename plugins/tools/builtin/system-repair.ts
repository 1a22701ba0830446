/**
 * `system.clear`: the repair half of the system tools. It empties a folder under the tools root
 * (a cache, a temp folder) and keeps the folder itself; the root itself is refused. It changes the
 * machine, so every call waits for a person's approval (`needsApproval`), whatever the spec says.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Effect, Schema } from "effect";
import type { ToolDefinition } from "../../../runtime/tool.ts";
import { defineTool } from "../define.ts";
import { confine } from "./files.ts";
import { folderUsage } from "./system.ts";

/** The repair tools; `root` confines them like the file tools. */
export const systemRepairTools = (root: string | undefined): ReadonlyArray<ToolDefinition> => [
  defineTool({
    name: "system.clear",
    description:
      "Deletes everything inside a folder under the workspace root (the folder itself stays). Needs a person's approval.",
    input: Schema.Struct({
      path: Schema.String.annotations({ description: "folder relative to the root, e.g. cache" }),
    }),
    needsApproval: true,
    run: ({ path }, ctx) =>
      Effect.gen(function* () {
        const { root: top, target } = yield* confine(ctx, root, path);
        if (target === top)
          return yield* Effect.fail("refusing to clear the whole root: name a folder under it");
        const cleared = yield* Effect.tryPromise({
          try: async () => {
            const before = await folderUsage(target);
            for (const entry of await readdir(target)) await rm(join(target, entry), { recursive: true });
            return before;
          },
          catch: (error) => `${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        });
        return JSON.stringify({ path, removedFiles: cleared.files, freedBytes: cleared.bytes });
      }),
  }),
];
