/**
 * `npm run bench -- [--json] [--filter <prefix>]`: runs the benchmarks, one JSON object per line
 * with `--json`, each with its baseline measured in the same run.
 */
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { benches as cli } from "./cli.ts";
import { benches as durable } from "./durable.ts";
import type { Bench } from "./harness.ts";
import { benches as memory } from "./knowledge.ts";
import { benches as providers } from "./providers.ts";
import { benches as publicPath } from "./public-path.ts";
import { benches as retrieval } from "./retrieval.ts";
import { benches as routing } from "./routing.ts";
import { benches as safety } from "./safety.ts";
import { benches as tracing } from "./tracing.ts";
import { benches as ws } from "./ws.ts";

const all: ReadonlyArray<Bench> = [
  ...cli,
  ...routing,
  ...durable,
  ...publicPath,
  ...providers,
  ...tracing,
  ...safety,
  ...ws,
  ...memory,
  ...retrieval,
];

const { values } = parseArgs({
  options: { json: { type: "boolean", default: false }, filter: { type: "string", default: "" } },
  strict: true,
});
const selected = all.filter((b) => b.name.startsWith(values.filter));
if (selected.length === 0) {
  process.stderr.write(
    `no benchmark starts with "${values.filter}"; names: ${all.map((b) => b.name).join(", ")}\n`,
  );
  process.exit(2);
}
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
if (!values.json) process.stdout.write(`machine: ${machine}\n`);
for (const bench of selected) {
  const results = await bench.run();
  for (const r of results) {
    if (values.json) process.stdout.write(`${JSON.stringify({ ...r, machine })}\n`);
    else
      process.stdout.write(
        `${r.bench.padEnd(34)} ${String(r.value).padStart(12)}  vs ${r.baseline}: ${r.baselineValue}  (ratio ${r.ratio}) ${r.unit}\n`,
      );
  }
}
