/** `arbor bench`: runs the benchmarks (same as `npm run bench`), with heap figures exposed to GC. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Command } from "./command.ts";

const usage = `Usage: arbor bench [--json] [--filter <prefix>]

Runs the benchmarks; every figure comes with a baseline measured in the same run.
Names start with route., spawn., provider., guardrail., tool., memory. or ws.`;

export const benchCommand: Command = {
  name: "bench",
  summary: "run the benchmarks (each against a same-run baseline)",
  usage,
  run: (argv) =>
    new Promise((resolve) => {
      const entry = fileURLToPath(new URL("../../bench/index.ts", import.meta.url));
      const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", entry, ...argv], {
        stdio: "inherit",
      });
      child.on("exit", (code) => resolve(code ?? 1));
    }),
};
