/**
 * `/metrics` through prom-client: the runtime's `stats()`, mailbox depth per agent kind, the
 * server's own traffic (connections, frames, errors by code, subscriptions) and the event-fed series
 * of `metrics-events.ts`, in the Prometheus text exposition format.
 *
 * Gotcha: the server's counters stay plain numbers bumped on the hot path; prom-client reads them
 * only when scraped.
 */
import { Effect, Runtime } from "effect";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { AgentNode, AgentSystemService } from "../../runtime/system.ts";
import { makeEventMetrics } from "./metrics-events.ts";
import type { HubCounters } from "./subscriptions.ts";

/** Counters the server keeps about its own traffic. */
export interface ServerCounters {
  connectionsOpen: number;
  connectionsTotal: number;
  upgradesRefused: number;
  requests: number;
  framesReceived: number;
  framesSent: number;
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
  framesReceived: 0,
  framesSent: 0,
  errors: new Map(),
  framesTooLarge: 0,
});

/** Counts one error response. */
export const countError = (counters: ServerCounters, code: number): void => {
  counters.errors.set(code, (counters.errors.get(code) ?? 0) + 1);
};

/** What `/metrics` reads. */
export interface MetricsSources {
  readonly system: AgentSystemService;
  readonly server: ServerCounters;
  readonly hub: () => HubCounters;
  /** Runs the runtime's effects (stats, tree inspection) at scrape time. */
  readonly runtime: Runtime.Runtime<never>;
  readonly now: () => number;
}

/** The registry behind `/metrics`. */
export interface Metrics {
  readonly contentType: string;
  /** The text for one scrape. */
  readonly render: () => Promise<string>;
  /** Stops feeding the event series (the server is shutting down). */
  readonly close: () => void;
}

/** A counter whose value lives elsewhere (a plain number on the hot path), read when scraped. */
const mirrored = (registry: Registry, name: string, help: string, read: () => number) =>
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });

const gauge = (registry: Registry, name: string, help: string, read: () => number | Promise<number>) =>
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      this.set(await read());
    },
  });

const addDepths = (node: AgentNode, into: Map<string, number>): void => {
  into.set(node.kind, (into.get(node.kind) ?? 0) + node.mailbox.size);
  for (const child of node.children) addDepths(child, into);
};

/** Makes the registry and starts feeding it from the event stream. */
export const makeMetrics = (sources: MetricsSources): Metrics => {
  const registry = new Registry();
  const { server, system } = sources;
  const run = Runtime.runPromise(sources.runtime);
  // One stats read per scrape, shared by the runtime gauges and counters below.
  let statsRead: ReturnType<typeof readStats> | undefined;
  const readStats = () => run(system.stats());
  const stats = () => {
    statsRead ??= readStats().finally(() => {
      statsRead = undefined;
    });
    return statsRead;
  };
  gauge(registry, "arbor_trees", "Trees running.", async () => (await stats()).trees);
  gauge(registry, "arbor_agents_live", "Agents running.", async () => (await stats()).agentsLive);
  const runtimeCounter = (
    name: string,
    help: string,
    pick: (s: Awaited<ReturnType<typeof stats>>) => number,
  ) =>
    new Counter({
      name,
      help,
      registers: [registry],
      async collect() {
        const value = pick(await stats());
        this.reset();
        this.inc(value);
      },
    });
  runtimeCounter("arbor_messages_routed_total", "Messages delivered by the router.", (s) => s.messagesRouted);
  runtimeCounter(
    "arbor_messages_dropped_total",
    "Messages refused or dropped by full mailboxes.",
    (s) => s.messagesDropped,
  );
  runtimeCounter("arbor_restarts_total", "Agent restarts made by supervisors.", (s) => s.restarts);
  runtimeCounter("arbor_tokens_total", "Model tokens used (input + output).", (s) => s.tokens);
  runtimeCounter("arbor_errors_total", "Errors in the runtime (failed requests, crashes).", (s) => s.errors);
  new Gauge({
    name: "arbor_mailbox_depth",
    help: "Messages waiting in mailboxes, summed by agent kind.",
    labelNames: ["kind"] as const,
    registers: [registry],
    async collect() {
      const depths = new Map<string, number>([
        ["parent", 0],
        ["child", 0],
        ["micro", 0],
      ]);
      const trees = await run(system.listTrees());
      for (const tree of trees) {
        const root = await run(Effect.either(system.inspect(tree.treeId)));
        if (root._tag === "Right") addDepths(root.right, depths);
      }
      for (const [kind, depth] of depths) this.set({ kind }, depth);
    },
  });

  gauge(registry, "arbor_ws_connections", "WebSocket connections open.", () => server.connectionsOpen);
  mirrored(
    registry,
    "arbor_ws_connections_total",
    "WebSocket connections accepted.",
    () => server.connectionsTotal,
  );
  mirrored(
    registry,
    "arbor_ws_upgrades_refused_total",
    "WebSocket upgrades refused (auth, path, shutdown).",
    () => server.upgradesRefused,
  );
  mirrored(registry, "arbor_ws_requests_total", "JSON-RPC requests received.", () => server.requests);
  mirrored(
    registry,
    "arbor_ws_frames_received_total",
    "WebSocket text frames received.",
    () => server.framesReceived,
  );
  mirrored(registry, "arbor_ws_frames_sent_total", "WebSocket frames sent.", () => server.framesSent);
  mirrored(
    registry,
    "arbor_ws_frames_too_large_total",
    "Connections closed with 1009 for an oversized frame.",
    () => server.framesTooLarge,
  );
  new Counter({
    name: "arbor_ws_errors_total",
    help: "JSON-RPC error responses by code.",
    labelNames: ["code"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, count] of server.errors) this.inc({ code: String(code) }, count);
    },
  });
  gauge(registry, "arbor_ws_subscriptions", "Event subscriptions open.", () => sources.hub().subscriptions);
  mirrored(
    registry,
    "arbor_ws_events_sent_total",
    "Events sent to subscribers.",
    () => sources.hub().eventsSent,
  );
  mirrored(
    registry,
    "arbor_ws_events_dropped_total",
    "Events dropped for slow subscribers.",
    () => sources.hub().eventsDropped,
  );
  mirrored(
    registry,
    "arbor_ws_slow_consumers_closed_total",
    "Subscribers closed for not reading (4008).",
    () => sources.hub().slowConsumersClosed,
  );

  const events = makeEventMetrics(registry, sources.now);
  const unlisten = system.events.listen(events.observe);
  collectDefaultMetrics({ register: registry });
  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close: unlisten,
  };
};
