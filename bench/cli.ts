/**
 * `cli.start`: how long `arbor --help` and `arbor --version` take from process start to exit
 * (p50 of 15 runs each), against `node -e 0` measured in the same run. Target: ≤ 300 ms p50.
 *
 * `cli.command`: a command that runs a tree (`arbor run examples/crash-once.json --json`) through
 * the bin (the bundle with its code cache), against the same command run from the ~900 separate
 * modules of dist/ in the same run.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Bench, percentile, round } from "./harness.ts";

const bin = fileURLToPath(new URL("../bin/arbor.mjs", import.meta.url));
const modules = new URL("../dist/protocols/cli/index.js", import.meta.url).href;
const command = ["run", fileURLToPath(new URL("../examples/crash-once.json", import.meta.url)), "--json"];
const runs = 15;

const p50 = (args: ReadonlyArray<string>): number => {
  const sample: number[] = [];
  execFileSync(process.execPath, args, { stdio: "ignore" }); // warm the file cache
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    execFileSync(process.execPath, args, { stdio: "ignore" });
    sample.push(performance.now() - start);
  }
  return percentile(sample, 50);
};

export const benches: ReadonlyArray<Bench> = [
  {
    name: "cli.start",
    run: async () => {
      const baseline = p50(["-e", "0"]);
      return ["--help", "--version"].map((flag) => {
        const value = p50([bin, flag]);
        return {
          bench: `cli.start ${flag}`,
          unit: "ms p50, lower is better (target ≤ 300)",
          value: round(value, 1),
          baseline: "node -e 0",
          baselineValue: round(baseline, 1),
          ratio: round(value / baseline, 2),
          runs,
        };
      });
    },
  },
  {
    name: "cli.command",
    run: async () => {
      const unbundled = p50([
        "--input-type=module",
        "-e",
        `const { main } = await import(${JSON.stringify(modules)}); process.exitCode = await main(${JSON.stringify(command)});`,
      ]);
      const value = p50([bin, ...command]);
      return [
        {
          bench: "cli.command run crash-once",
          unit: "ms p50, lower is better",
          value: round(value, 1),
          baseline: "the same command from dist/'s separate modules",
          baselineValue: round(unbundled, 1),
          ratio: round(value / unbundled, 2),
          runs,
        },
      ];
    },
  },
];
