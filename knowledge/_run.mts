import { benches } from "../bench/knowledge.ts";

const only = process.argv[2] ?? "";
for (const b of benches.filter((b) => b.name.startsWith(only))) {
  const t = performance.now();
  for (const r of await b.run()) console.log(JSON.stringify(r));
  console.log(b.name, "took", Math.round(performance.now() - t), "ms");
}
