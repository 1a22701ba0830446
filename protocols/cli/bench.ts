/** `arbor bench`: runs the benchmarks (same as `npm run bench`), with heap figures exposed to GC. */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../runtime/package-root.ts";
import { type Command, ExitCode } from "./command.ts";

const usage = `Usage: arbor bench [--json] [--filter <prefix>]

Runs the benchmarks; every figure comes with a baseline measured in the same run.
Names start with cli., route., spawn., provider., guardrail., tool., memory. or ws.`;

export const benchCommand: Command = {
  name: "bench",
  summary: "run the benchmarks (each against a same-run baseline)",
  usage,
  run: (argv) =>
    new Promise((resolve) => {
      // The benchmarks are in a clone, next to the sources; an installed package has none.
      const entry = join(packageRoot(), "bench", "index.ts");
      if (!existsSync(entry)) {
        process.stderr.write(
          "arbor bench: the benchmarks ship with the repository, not the package: run it in a clone\n",
        );
        resolve(ExitCode.usage);
        return;
      }
      const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", entry, ...argv], {
        stdio: "inherit",
      });
      child.on("exit", (code) => resolve(code ?? 1));
    }),
};
