/**
 * `startTelemetry`: off unless `OTEL_*` asks for traces, and a setting it cannot honour is refused
 * with the variable named, before anything is registered.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startTelemetry, TelemetryConfigError } from "../../protocols/telemetry.ts";
import { tracingActive } from "../../runtime/tracing.ts";

const saved = { ...process.env };
/** Runs `startTelemetry` with `env` as the only OTEL_* settings. */
const start = (env: Record<string, string>) => {
  for (const name of Object.keys(process.env)) if (name.startsWith("OTEL_")) delete process.env[name];
  Object.assign(process.env, env);
  return startTelemetry();
};
afterEach(() => {
  // Restored in place: process.env stays the real environment object for later test files.
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});

describe("startTelemetry", () => {
  it("stays off when no endpoint is set, when disabled, and with exporter none", async () => {
    expect(await start({})).toBeUndefined();
    expect(
      await start({
        OTEL_SDK_DISABLED: "true",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      }),
    ).toBeUndefined();
    expect(
      await start({
        OTEL_TRACES_EXPORTER: "none",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      }),
    ).toBeUndefined();
    expect(tracingActive()).toBe(false);
  });

  it("refuses grpc and unknown exporters, naming the variable", async () => {
    const grpc = start({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4317",
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    });
    await expect(grpc).rejects.toBeInstanceOf(TelemetryConfigError);
    await expect(grpc).rejects.toMatchObject({
      reason: "unsupported_protocol",
      fault: "user",
      message: expect.stringContaining("OTEL_EXPORTER_OTLP_PROTOCOL=grpc"),
    });
    await expect(start({ OTEL_TRACES_EXPORTER: "zipkin" })).rejects.toMatchObject({
      reason: "unsupported_exporter",
      message: expect.stringContaining("OTEL_TRACES_EXPORTER=zipkin"),
    });
    expect(tracingActive()).toBe(false);
  });

  it("registers the SDK when an endpoint is set, and unregisters it at shutdown", async () => {
    const telemetry = await start({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9",
      OTEL_SERVICE_NAME: "checkout",
    });
    expect(telemetry?.description).toBe(
      "spans to http://127.0.0.1:9 over OTLP http/protobuf (service checkout)",
    );
    expect(tracingActive()).toBe(true);
    await telemetry?.shutdown();
    expect(tracingActive()).toBe(false);
  });
});
