/**
 * `npm run bench:peers -- [--reps 3] [--ms 2000] [--filter W1] [--json]`: Arbor against LangGraph.js
 * and OpenAI Agents JS on the same workloads with the same fake model. Each measurement runs in its
 * own process; the arms are interleaved and their order rotates every repetition; the table shows
 * per-CPU-second medians and Arbor ÷ peer ratios.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type WorkloadName, workloads } from "./arm.ts";

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "3" },
    ms: { type: "string", default: "2000" },
    filter: { type: "string", default: "" },
    json: { type: "boolean", default: false },
  },
  strict: true,
});
const reps = Number(values.reps);
const ms = Number(values.ms);
const here = import.meta.dirname;
const versionOf = (name: string): string =>
  (JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8")) as { version: string })
    .version;
const arms = [
  {
    name: "arbor",
    label: "Arbor",
    version: (JSON.parse(readFileSync(join(here, "../../package.json"), "utf8")) as { version: string })
      .version,
  },
  {
    name: "langgraph",
    label: `LangGraph.js ${versionOf("@langchain/langgraph")}`,
    version: versionOf("@langchain/langgraph"),
  },
  {
    name: "openai-agents",
    label: `OpenAI Agents JS ${versionOf("@openai/agents")}`,
    version: versionOf("@openai/agents"),
  },
] as const;
const selected = (Object.keys(workloads) as Array<WorkloadName>).filter((w) => w.startsWith(values.filter));

interface Sample {
  readonly arm: string;
  readonly workload: WorkloadName;
  readonly perCpuSecond?: number;
  readonly bytesPerAgent?: number;
}

const measure = (arm: string, workload: WorkloadName): Sample => {
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", join(here, "child.ts"), arm, workload, String(ms)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  return JSON.parse(out.trim().split("\n").at(-1)!) as Sample;
};

const samples: Array<Sample> = [];
for (let rep = 0; rep < reps; rep++) {
  for (const workload of selected) {
    // Interleaved, rotated: each arm goes first in some repetition.
    const order = arms.map((_, i) => arms[(i + rep) % arms.length]!);
    for (const arm of order) {
      const sample = measure(arm.name, workload);
      samples.push(sample);
      if (values.json) process.stdout.write(`${JSON.stringify({ rep, ...sample })}\n`);
      else process.stderr.write(".");
    }
  }
}
if (!values.json) process.stderr.write("\n");

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const figureOf = (s: Sample) => s.perCpuSecond ?? s.bytesPerAgent ?? Number.NaN;
const medianOf = (arm: string, workload: WorkloadName) =>
  median(samples.filter((s) => s.arm === arm && s.workload === workload).map(figureOf));
const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, Node ${process.version}`;
const lines = [
  `machine: ${machine}; ${reps} repetitions of ${ms} ms per arm and workload; medians per CPU-second of the arm's process`,
  "",
  `| workload | ${arms.map((a) => a.label).join(" | ")} | Arbor ÷ LangGraph | Arbor ÷ OpenAI |`,
  "| --- | --- | --- | --- | --- | --- |",
];
for (const workload of selected) {
  const [a, l, o] = arms.map((arm) => medianOf(arm.name, workload)) as [number, number, number];
  const unit = workload === "W5.idle" ? " B" : "";
  const ratio = (x: number) => (workload === "W5.idle" ? "" : (a / x).toFixed(2));
  lines.push(
    `| ${workload} ${workloads[workload]} | ${fmt(a)}${unit} | ${fmt(l)}${unit} | ${fmt(o)}${unit} | ${ratio(l)} | ${ratio(o)} |`,
  );
  if (values.json)
    process.stdout.write(
      `${JSON.stringify({ bench: `peers.${workload}`, arbor: a, langgraph: l, openaiAgents: o, machine })}\n`,
    );
}
if (!values.json) process.stdout.write(`${lines.join("\n")}\n`);
