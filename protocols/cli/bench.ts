/** `arbor bench`: runs the benchmarks (same as `npm run bench`), with heap figures exposed to GC. */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
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
      // From the sources (protocols/cli) or from the build (dist/protocols/cli) of a clone.
      const entry = ["../../bench/index.ts", "../../../bench/index.ts"]
        .map((path) => fileURLToPath(new URL(path, import.meta.url)))
        .find((path) => existsSync(path));
      if (entry === undefined) {
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
