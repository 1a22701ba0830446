/**
 * One measurement in its own process: `child.ts <arm> <workload> <ms>` prints one JSON line.
 * Throughput: warm up, then run the operation for `ms` of wall time and count units against the
 * process's CPU time (user + system, all threads). W5: heap after GC with N idle agents, minus before.
 */
import type { Arm, WorkloadName } from "./arm.ts";

const [armName, workload, msText] = process.argv.slice(2) as [string, WorkloadName, string];
const ms = Number(msText);
const { arm } = (await import(`./arms/${armName}.ts`)) as { arm: Arm };

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error("run with --expose-gc");
  collect();
  collect();
};
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

if (workload === "W5.idle") {
  const n = 2_000;
  gc();
  const before = process.memoryUsage().heapUsed;
  const held = await arm.idle(n);
  gc();
  const after = process.memoryUsage().heapUsed;
  process.stdout.write(
    `${JSON.stringify({ arm: armName, workload, bytesPerAgent: (after - before) / n })}\n`,
  );
  await held.close();
} else {
  const prepared = await arm.prepare(workload);
  const loop = async (budget: number) => {
    let units = 0;
    const end = performance.now() + budget;
    while (performance.now() < end) units += await prepared.op();
    return units;
  };
  if ((await prepared.op()) === 0) throw new Error(`${armName} ${workload}: the operation did no work`);
  await loop(Math.min(1_000, ms / 2));
  const cpu0 = cpuMs();
  const t0 = performance.now();
  const units = await loop(ms);
  const cpu = cpuMs() - cpu0;
  const wall = performance.now() - t0;
  process.stdout.write(
    `${JSON.stringify({ arm: armName, workload, units, cpuMs: Math.round(cpu), wallMs: Math.round(wall), perCpuSecond: units / (cpu / 1000) })}\n`,
  );
  await prepared.close();
}
process.exit(0);
