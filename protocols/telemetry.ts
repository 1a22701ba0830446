/**
 * Trace export with the standard OpenTelemetry SDK, configured by the standard `OTEL_*` variables:
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns it on,
 * `OTEL_EXPORTER_OTLP_PROTOCOL` picks `http/protobuf` (the default) or `http/json`,
 * `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` name the service (default `arbor`),
 * `OTEL_TRACES_SAMPLER` / `_ARG` sample, `OTEL_EXPORTER_OTLP_HEADERS` authenticate, `OTEL_BSP_*` batch.
 * `OTEL_TRACES_EXPORTER=console` prints spans instead; `none` or `OTEL_SDK_DISABLED=true` keeps it off.
 *
 * Gotcha: the SDK is imported only when tracing is configured, so a server without `OTEL_*` loads
 * none of it and its hot path checks one flag.
 */
import { trace } from "@opentelemetry/api";
import { Data, Effect } from "effect";
import type { Fault } from "../runtime/errors.ts";

/** The running exporter: flush and stop it at exit. */
export interface Telemetry {
  /** One line for the operator: where spans go. */
  readonly description: string;
  /** Flushes spans still buffered and stops exporting. */
  readonly shutdown: () => Promise<void>;
}

/** A setting we cannot honour, named by its variable: the operator's to fix. */
export class TelemetryConfigError extends Data.TaggedError("TelemetryConfigError")<{
  readonly reason: "unsupported_exporter" | "unsupported_protocol" | "already_registered";
  readonly detail: string;
}> {
  readonly fault: Fault = "user";
  override get message(): string {
    return this.detail;
  }
}

const protocols = ["http/protobuf", "http/json"] as const;

/**
 * Starts exporting traces when the environment asks for it; undefined when it does not.
 * Registers the SDK's tracer provider globally (Arbor's spans and any library's).
 * Gotcha: it reads `process.env`, as the SDK's own parts (exporter, sampler, resource) do.
 */
export const startTelemetry = async (): Promise<Telemetry | undefined> => {
  const env = process.env;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  const exporterName = (env.OTEL_TRACES_EXPORTER ?? "otlp").trim().toLowerCase();
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (exporterName === "none") return undefined;
  if (exporterName !== "console" && exporterName !== "otlp")
    throw new TelemetryConfigError({
      reason: "unsupported_exporter",
      detail: `OTEL_TRACES_EXPORTER=${exporterName} is not supported: use otlp, console or none`,
    });
  if (exporterName === "otlp" && (endpoint === undefined || endpoint.trim() === "")) return undefined;
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    "http/protobuf"
  )
    .trim()
    .toLowerCase();
  if (exporterName === "otlp" && !(protocols as ReadonlyArray<string>).includes(protocol))
    throw new TelemetryConfigError({
      reason: "unsupported_protocol",
      detail: `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: use http/protobuf or http/json (point grpc collectors at their HTTP port, 4318)`,
    });

  const [sdk, resources] = await Promise.all([
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/resources"),
  ]);
  const exporter =
    exporterName === "console"
      ? new sdk.ConsoleSpanExporter()
      : protocol === "http/json"
        ? new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter()
        : new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter();
  // Defaults, then Arbor's service name, then OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES on top.
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ "service.name": "arbor" }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.BasicTracerProvider({
    resource,
    spanProcessors: [
      exporterName === "console"
        ? new sdk.SimpleSpanProcessor(exporter)
        : new sdk.BatchSpanProcessor(exporter),
    ],
  });
  if (!trace.setGlobalTracerProvider(provider)) {
    await provider.shutdown();
    throw new TelemetryConfigError({
      reason: "already_registered",
      detail: "another OpenTelemetry tracer provider is already registered in this process",
    });
  }
  const service = resource.attributes["service.name"];
  return {
    description:
      exporterName === "console"
        ? `spans printed to stdout (service ${String(service)})`
        : `spans to ${endpoint} over OTLP ${protocol} (service ${String(service)})`,
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
    },
  };
};

/**
 * `startTelemetry` for the lifetime of the scope (the CLI commands): acquired first, released last,
 * so the spans of the shutdown itself are flushed too. Undefined when `OTEL_*` asks for nothing.
 */
export const scopedTelemetry = Effect.acquireRelease(
  Effect.tryPromise({
    try: () => startTelemetry(),
    catch: (error) => new Error(`tracing: ${error instanceof Error ? error.message : String(error)}`),
  }),
  (running) => Effect.promise(async () => running?.shutdown()),
);
