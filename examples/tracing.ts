// Run with: npx tsx examples/tracing.ts
// Spans of a delegated ask, printed to the console; with OTEL_EXPORTER_OTLP_ENDPOINT set (for example
// http://127.0.0.1:4318, a local collector or Jaeger) they are sent over OTLP/HTTP instead.
import { createArbor, startTelemetry } from "arbor-agents";

if (!process.env.OTEL_EXPORTER_OTLP_ENDPOINT) process.env.OTEL_TRACES_EXPORTER ??= "console";
const telemetry = await startTelemetry(); // reads OTEL_*; undefined when they ask for no traces
console.error(`tracing: ${telemetry?.description ?? "off"}`);

const arbor = await createArbor();
const tree = await arbor.spawn({
  name: "traced",
  root: {
    name: "lead",
    kind: "parent",
    model: { provider: "scripted", script: [{ text: "Launch plan agreed." }] },
    children: [
      {
        name: "researcher",
        kind: "child",
        model: { provider: "scripted", script: [{ text: "Market looks good." }] },
      },
    ],
  },
});
const reply = await arbor.ask(tree.root, "Plan the launch.");
console.error(`reply: ${reply.output}\ntrace: ${reply.traceId ?? "(tracing off)"}`);
await arbor.close();
await telemetry?.shutdown(); // flushes the spans still buffered
