/**
 * Observability of a real `arbor serve` process, as an operator sees it: spans exported over
 * OTLP/HTTP (JSON) to a receiver started here, nested as one trace per ask from the delegating
 * parent down to the child's model calls and tool call; the trace id on the reply and the events;
 * every `/metrics` series after a delegated, tool-using ask and a provider failure; JSON log lines
 * with trace ids and without the planted key or email.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArborClient, RpcError } from "../../protocols/client/index.ts";
import type { ArborEvent } from "../../runtime/events.ts";

const main = join(import.meta.dirname, "..", "..", "bin", "arbor.mjs");
const dir = mkdtempSync(join(tmpdir(), "arbor-observability-"));
const plantedKey = "sk-planted-0123456789abcdefXYZ";
const plantedEmail = "jane.planted@example.com";

interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: Record<string, unknown> }>;
}

/**
 * A local OTLP/HTTP receiver: decodes the JSON encoding and keeps every span; keeps protobuf
 * payloads as they came.
 */
const startReceiver = async () => {
  const spans: Array<OtlpSpan> = [];
  const resources: Array<Record<string, unknown>> = [];
  const protobufs: Array<Buffer> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Array<Buffer> = [];
    req.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
    });
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      if (req.url === "/v1/traces" && req.headers["content-type"] === "application/x-protobuf") {
        protobufs.push(Buffer.concat(chunks));
        res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      } else if (req.url === "/v1/traces" && req.headers["content-type"]?.startsWith("application/json")) {
        const parsed = JSON.parse(body) as {
          resourceSpans: Array<{
            resource: { attributes: Array<{ key: string; value: Record<string, unknown> }> };
            scopeSpans: Array<{ spans: Array<OtlpSpan> }>;
          }>;
        };
        for (const rs of parsed.resourceSpans) {
          resources.push(Object.fromEntries(rs.resource.attributes.map((a) => [a.key, a.value.stringValue])));
          for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    spans,
    resources,
    protobufs,
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
};

const attr = (span: OtlpSpan, key: string): unknown => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value === undefined ? undefined : Object.values(value)[0];
};

const spec = {
  name: "obs",
  root: {
    name: "lead",
    kind: "parent",
    model: { provider: "scripted", script: [{ text: "summary of the team's work" }] },
    children: [
      {
        name: "worker",
        kind: "child",
        tools: { allow: ["handoff"] },
        model: {
          provider: "scripted",
          script: [
            { toolCalls: [{ name: "handoff", args: { to: "/obs/lead/echo", task: "ping", await: true } }] },
            { text: "echo said {{tool}}" },
          ],
        },
      },
      { name: "echo", kind: "micro", handler: "echo" },
    ],
  },
};
const flaky = {
  name: "flaky",
  root: {
    name: "solo",
    kind: "child",
    model: { provider: "scripted", script: [{ error: "upstream said no" }] },
  },
};

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let server: ChildProcess;
let stderr = "";
let url = "";
let client: ArborClient;
const events: Array<ArborEvent> = [];
let reply: { output: string; traceId?: string };

/** Starts `arbor serve` with `env`; resolves with its URL once it listens. */
const startServe = async (env: Record<string, string>, name: string) => {
  const child = spawn(process.execPath, [main, "serve", "--port", "0", "--json", "--no-memory"], {
    env: { ...process.env, ARBOR_DATA_DIR: join(dir, name), ARBOR_TOKEN: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  return { child, url: (JSON.parse(first) as { url: string }).url, stderr: () => err };
};

beforeAll(async () => {
  receiver = await startReceiver();
  const started = await startServe(
    {
      ARBOR_LOG_LEVEL: "debug",
      OPENAI_API_KEY: plantedKey,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "arbor-under-test",
      OTEL_BSP_SCHEDULE_DELAY: "50",
    },
    "data",
  );
  server = started.child;
  url = started.url;
  server.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  client = await ArborClient.connect(url);
  await client.subscribe({ types: ["agent.*", "provider.*", "tool.*"] }, (event) => events.push(event));
  const { root } = await client.spawn(spec);
  reply = await client.ask(root, `ask the echo; mail ${plantedEmail}, key ${plantedKey}`);
  const { root: solo } = await client.spawn(flaky);
  await expect(client.ask(solo, "try")).rejects.toBeInstanceOf(RpcError);
});

afterAll(async () => {
  await client?.close();
  if (server && server.exitCode === null) server.kill("SIGKILL");
  receiver?.server.close();
});

describe("traces over OTLP/HTTP from arbor serve", () => {
  it("puts the trace id on the reply and on the events of the ask", async () => {
    expect(reply.output).toContain("summary of the team's work");
    expect(reply.traceId).toMatch(/^[0-9a-f]{32}$/);
    await expect
      .poll(() => events.filter((e) => e.type === "agent.replied" && e.traceId === reply.traceId).length)
      .toBe(2);
    expect(events.find((e) => e.type === "tool.called")?.traceId).toBe(reply.traceId);
    expect(events.find((e) => e.type === "provider.call")?.traceId).toBe(reply.traceId);
  });

  it("exports one trace: the ask at the edge → lead step → delegation → worker step → chat, execute_tool → handoff", async () => {
    const inTrace = () => receiver.spans.filter((s) => s.traceId === reply.traceId);
    // The edge span ends last; it arrives once the batch after it is flushed.
    await expect.poll(() => inTrace().some((s) => s.name === "agent.ask")).toBe(true);
    const spans = inTrace();
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentOf = (s: OtlpSpan) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined);
    const steps = spans.filter((s) => s.name === "agent.step");
    const lead = steps.find((s) => attr(s, "arbor.agent.address") === "/obs/lead")!;
    const worker = steps.find((s) => attr(s, "arbor.agent.address") === "/obs/lead/worker")!;
    const edge = parentOf(lead)!;
    expect(edge.name).toBe("agent.ask");
    expect(edge.kind).toBe(2); // SERVER
    expect(edge.parentSpanId ?? "").toBe("");
    expect(attr(lead, "arbor.agent.kind")).toBe("parent");
    expect(attr(lead, "arbor.tree")).toBe("obs");
    expect(attr(lead, "arbor.agent.incarnation")).toBe(1);
    const delegate = parentOf(worker)!;
    expect(delegate.name).toBe("agent.delegate");
    expect(parentOf(delegate)).toBe(lead);
    expect(attr(worker, "arbor.agent.kind")).toBe("child");
    const tool = spans.find((s) => s.name === "execute_tool handoff")!;
    expect(parentOf(tool)).toBe(worker);
    expect(attr(tool, "gen_ai.tool.name")).toBe("handoff");
    const handoff = spans.find((s) => s.name === "agent.handoff")!;
    expect(parentOf(handoff)).toBe(tool);
    expect(attr(handoff, "arbor.handoff.to")).toBe("/obs/lead/echo");
    const chats = spans.filter((s) => attr(s, "gen_ai.operation.name") === "chat");
    expect(chats.filter((c) => parentOf(c) === worker)).toHaveLength(2);
    expect(chats.filter((c) => parentOf(c) === lead)).toHaveLength(1);
    expect(receiver.resources.some((r) => r["service.name"] === "arbor-under-test")).toBe(true);
  });
});

describe("traces in the default protocol, OTLP http/protobuf", () => {
  it("are flushed to the collector when the server shuts down", async () => {
    const started = await startServe(
      // Batches would wait ten minutes: only the flush at shutdown can deliver them.
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "600000" },
      "proto",
    );
    const other = await ArborClient.connect(started.url);
    const { root } = await other.spawn({
      ...flaky,
      name: "proto",
      root: { ...flaky.root, model: { provider: "scripted", script: [{ text: "ok" }] } },
    });
    const answer = await other.ask(root, "hello");
    await other.close();
    expect(answer.traceId).toMatch(/^[0-9a-f]{32}$/);
    const exited = new Promise((resolve) => started.child.once("exit", resolve));
    started.child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const traceBytes = Buffer.from(answer.traceId!, "hex");
    expect(receiver.protobufs.some((body) => body.includes(traceBytes))).toBe(true);
  });
});

describe("/metrics after a delegated, tool-using ask and a provider failure", () => {
  it("shows every series the operator needs", async () => {
    const base = url.replace(/^ws/, "http").replace(/\/rpc$/, "");
    const text = await (await fetch(`${base}/metrics`)).text();
    const series = [
      /^arbor_provider_calls_total\{provider="scripted",model="",outcome="ok"\} 3$/m,
      /^arbor_provider_calls_total\{provider="scripted",model="",outcome="error"\} 1$/m,
      /^arbor_provider_tokens_total\{provider="scripted",model="",direction="input"\} [1-9]\d*$/m,
      /^arbor_provider_cost_usd_total\{provider="scripted",model=""\} 0$/m,
      /^arbor_provider_call_duration_seconds_bucket\{le="[^"]+",provider="scripted"/m,
      /^arbor_provider_circuit_state\{provider="scripted",model=""\} 0$/m,
      /^arbor_provider_keys_cooling\{provider="scripted"\} 0$/m,
      /^arbor_provider_cache_hits_total\{provider="scripted",model=""\} 0$/m,
      /^arbor_provider_retries_total\{provider="scripted",model=""\} \d+$/m,
      /^arbor_budget_exceeded_total\{scope="tenant"\} 0$/m,
      /^arbor_tripwires_triggered_total\{action="halt"\} 0$/m,
      /^arbor_budget_tokens_total\{tenant="[^"]+"\} \d+$/m,
      /^arbor_budget_cost_usd_total\{tenant="[^"]+"\} /m,
      /^arbor_mailbox_depth\{kind="child"\} 0$/m,
      /^arbor_mailbox_drops_total\{policy="fail"\} 0$/m,
      /^arbor_agent_restarts_total\{strategy="one_for_one"\} 0$/m,
      /^arbor_agent_escalations_total 0$/m,
      /^arbor_agent_steps_total\{kind="parent",outcome="ok"\} 1$/m,
      /^arbor_agent_steps_total\{kind="child",outcome="ok"\} 1$/m,
      /^arbor_agent_steps_total\{kind="child",outcome="failed"\} 1$/m,
      /^arbor_agent_step_duration_seconds_count\{kind="parent",outcome="ok"\} 1$/m,
      /^arbor_tool_calls_total\{outcome="ok"\} 1$/m,
      /^arbor_ws_connections 1$/m,
      /^arbor_ws_frames_received_total [1-9]/m,
      /^arbor_ws_frames_sent_total [1-9]/m,
      /^arbor_ws_errors_total\{code="[^"]+"\} 1$/m,
      /^arbor_trees 2$/m,
    ];
    const missing = series.filter((pattern) => !pattern.test(text));
    expect(
      missing,
      text
        .split("\n")
        .filter((l) => l.startsWith("arbor_"))
        .join("\n"),
    ).toEqual([]);
    // Bounded cardinality: no addresses, trees or request ids as labels.
    expect(text).not.toMatch(/\/obs\/lead|rq_|tree="/);
  });
});

describe("structured logs from arbor serve", () => {
  it("writes JSON lines with trace ids, and never the planted key or email", async () => {
    await expect.poll(() => stderr.includes('"event":"agent.replied"')).toBe(true);
    const lines = stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.some((l) => l.msg === "arbor serve: listening" && l.level === "info")).toBe(true);
    expect(lines.some((l) => l.event === "provider.call" && l.traceId === reply.traceId)).toBe(true);
    expect(
      lines.some((l) => l.event === "provider.call" && l.outcome === "error" && l.level === "warn"),
    ).toBe(true);
    expect(stderr).not.toContain(plantedKey);
    expect(stderr).not.toContain(plantedEmail);
  });
});
