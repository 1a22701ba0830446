/**
 * Tracing benchmarks.
 *
 * - `trace.delegated_ask.overhead`: delegated asks per second (a parent step that asks its child,
 *   two scripted model calls, every span of the OpenTelemetry SDK recorded and batched to an exporter
 *   that drops them) with tracing on, against the same asks with no SDK registered, in rounds
 *   interleaved in the same run. The figure is the cost of tracing on; off is the default.
 */
import { trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { Effect, Exit, Scope } from "effect";
import { scriptedPlugin } from "../plugins/providers/scripted.ts";
import { makeAgentSystem } from "../runtime/agent-system.ts";
import { type Bench, round } from "./harness.ts";

/** Counts spans and drops them: the SDK's work is measured, not a network. */
class DroppingExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: Parameters<SpanExporter["export"]>[1]): void {
    this.spans += spans.length;
    done({ code: 0 }); // SUCCESS
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const spec = {
  name: "traced",
  root: {
    name: "lead",
    kind: "parent",
    model: { provider: "scripted", script: [{ text: "summary" }] },
    children: [
      { name: "worker", kind: "child", model: { provider: "scripted", script: [{ text: "done" }] } },
    ],
  },
};

const delegated: Bench = {
  name: "trace.delegated_ask.overhead",
  run: async () => {
    const scope = Effect.runSync(Scope.make());
    const system = await Effect.runPromise(
      Scope.extend(makeAgentSystem({ plugins: [scriptedPlugin] }), scope),
    );
    const handle = await Effect.runPromise(system.spawnTree(spec));
    const exporter = new DroppingExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 65_536, scheduledDelayMillis: 100 })],
    });
    const asks = async (n: number) => {
      for (let i = 0; i < n; i++) await Effect.runPromise(system.ask(handle.root, "go"));
    };
    const rate = async (ms: number) => {
      const start = performance.now();
      let done = 0;
      while (performance.now() - start < ms) {
        await asks(50);
        done += 50;
      }
      return (done / (performance.now() - start)) * 1000;
    };
    await asks(200); // warm-up
    const off: Array<number> = [];
    const on: Array<number> = [];
    for (let round = 0; round < 4; round++) {
      trace.disable();
      off.push(await rate(500));
      trace.setGlobalTracerProvider(provider);
      on.push(await rate(500));
    }
    trace.disable();
    await provider.forceFlush();
    await provider.shutdown();
    await Effect.runPromise(Scope.close(scope, Exit.void));
    const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const onRate = median(on);
    const offRate = median(off);
    return [
      {
        bench: "trace.delegated_ask.overhead",
        unit: "delegated asks/s with tracing on (higher is better)",
        value: round(onRate, 0),
        baseline: "the same asks with no OpenTelemetry SDK registered (tracing off)",
        baselineValue: round(offRate, 0),
        ratio: round(onRate / offRate, 3),
        costPerAskUs: round((1 / onRate - 1 / offRate) * 1e6, 1),
        spansExported: exporter.spans,
      },
    ];
  },
};

/** The tracing benchmarks. */
export const benches: ReadonlyArray<Bench> = [delegated];
