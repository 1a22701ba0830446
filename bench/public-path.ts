/**
 * `route.micro.public.*`: the public Promise API (`createArbor`'s `send` and `ask`, each awaited)
 * to 100 handler micro agents, against the router's internal synchronous calls to the same agents
 * in the same run (`router.tell`, `router.askNow`). Target: within 2× (ratio ≥ 0.5).
 */
import { createArbor } from "../index.ts";
import { type Bench, type BenchResult, opsPerSecond, round } from "./harness.ts";

const result = (bench: string, value: number, baseline: string, baselineValue: number): BenchResult => ({
  bench,
  unit: "messages/s (higher is better)",
  value: round(value, 1),
  baseline,
  baselineValue: round(baselineValue, 1),
  ratio: round(value / baselineValue, 3),
  target: ">= 0.5",
});

const publicPath: Bench = {
  name: "route.micro.public",
  run: async () => {
    const arbor = await createArbor();
    try {
      const children = Array.from({ length: 100 }, (_, i) => ({
        name: `m${i}`,
        kind: "micro" as const,
        handler: "echo",
      }));
      const { root } = await arbor.spawn({
        name: "public",
        root: {
          name: "hub",
          kind: "parent",
          model: { provider: "scripted", script: [{ text: "ok" }] },
          children,
        },
      });
      const to = children.map((c) => `${root}/${c.name}`);
      const router = arbor.runtime.router;
      // Interleaved, best of three rounds each, so machine noise hits both alike.
      const best = { send: 0, tell: 0, ask: 0, askNow: 0 };
      for (let r = 0; r < 3; r++) {
        best.send = Math.max(
          best.send,
          await opsPerSecond(async (k) => {
            for (let i = 0; i < k; i++) await arbor.send(to[i % 100]!, "hello");
          }),
        );
        best.tell = Math.max(
          best.tell,
          await opsPerSecond((k) => {
            for (let i = 0; i < k; i++) router.tell(to[i % 100]!, "hello");
          }),
        );
        best.ask = Math.max(
          best.ask,
          await opsPerSecond(async (k) => {
            for (let i = 0; i < k; i++) await arbor.ask(to[i % 100]!, "hello");
          }),
        );
        best.askNow = Math.max(
          best.askNow,
          await opsPerSecond((k) => {
            for (let i = 0; i < k; i++) router.askNow(to[i % 100]!, "hello");
          }),
        );
      }
      return [
        result("route.micro.public.send", best.send, "router.tell (internal, synchronous)", best.tell),
        result("route.micro.public.ask", best.ask, "router.askNow (internal, synchronous)", best.askNow),
      ];
    } finally {
      await arbor.close();
    }
  },
};

/** The public-path benchmarks. */
export const benches: ReadonlyArray<Bench> = [publicPath];
