/**
 * `/metrics`: the runtime's `stats()` and the server's own counters in the Prometheus text
 * exposition format (version 0.0.4).
 */
import type { RuntimeStats } from "../../runtime/system.ts";
import type { HubCounters } from "./subscriptions.ts";

/** Counters the server keeps about its own traffic. */
export interface ServerCounters {
  connectionsOpen: number;
  connectionsTotal: number;
  upgradesRefused: number;
  requests: number;
  /** Error responses by JSON-RPC code. */
  readonly errors: Map<number, number>;
  framesTooLarge: number;
}

/** Fresh counters. */
export const makeServerCounters = (): ServerCounters => ({
  connectionsOpen: 0,
  connectionsTotal: 0,
  upgradesRefused: 0,
  requests: 0,
  errors: new Map(),
  framesTooLarge: 0,
});

/** Counts one error response. */
export const countError = (counters: ServerCounters, code: number): void => {
  counters.errors.set(code, (counters.errors.get(code) ?? 0) + 1);
};

type Line = readonly [name: string, type: "gauge" | "counter", help: string, value: number];

/** The Prometheus text for one scrape. */
export const renderMetrics = (stats: RuntimeStats, server: ServerCounters, hub: HubCounters): string => {
  const lines: Array<Line> = [
    ["arbor_trees", "gauge", "Trees running.", stats.trees],
    ["arbor_agents_live", "gauge", "Agents running.", stats.agentsLive],
    ["arbor_messages_routed_total", "counter", "Messages delivered by the router.", stats.messagesRouted],
    [
      "arbor_messages_dropped_total",
      "counter",
      "Messages refused or dropped by full mailboxes.",
      stats.messagesDropped,
    ],
    ["arbor_restarts_total", "counter", "Agent restarts made by supervisors.", stats.restarts],
    ["arbor_provider_calls_total", "counter", "Model provider calls.", stats.providerCalls],
    ["arbor_tokens_total", "counter", "Model tokens used (input + output).", stats.tokens],
    ["arbor_errors_total", "counter", "Errors in the runtime (failed requests, crashes).", stats.errors],
    ["arbor_ws_connections", "gauge", "WebSocket connections open.", server.connectionsOpen],
    ["arbor_ws_connections_total", "counter", "WebSocket connections accepted.", server.connectionsTotal],
    [
      "arbor_ws_upgrades_refused_total",
      "counter",
      "WebSocket upgrades refused (auth, path, shutdown).",
      server.upgradesRefused,
    ],
    ["arbor_ws_requests_total", "counter", "JSON-RPC requests received.", server.requests],
    [
      "arbor_ws_frames_too_large_total",
      "counter",
      "Connections closed with 1009 for an oversized frame.",
      server.framesTooLarge,
    ],
    ["arbor_ws_subscriptions", "gauge", "Event subscriptions open.", hub.subscriptions],
    ["arbor_ws_events_sent_total", "counter", "Events sent to subscribers.", hub.eventsSent],
    ["arbor_ws_events_dropped_total", "counter", "Events dropped for slow subscribers.", hub.eventsDropped],
    [
      "arbor_ws_slow_consumers_closed_total",
      "counter",
      "Subscribers closed for not reading (4008).",
      hub.slowConsumersClosed,
    ],
  ];
  const out: Array<string> = [];
  for (const [name, type, help, value] of lines) {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
  }
  out.push(
    "# HELP arbor_ws_errors_total JSON-RPC error responses by code.",
    "# TYPE arbor_ws_errors_total counter",
  );
  for (const [code, count] of [...server.errors.entries()].sort((a, b) => a[0] - b[0])) {
    out.push(`arbor_ws_errors_total{code="${code}"} ${count}`);
  }
  return `${out.join("\n")}\n`;
};
