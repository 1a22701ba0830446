/**
 * WebSocket benchmarks, each against a raw `ws` server measured in the same run with the same
 * client code, so the ratio is the price of Arbor's protocol layer (JSON-RPC framing, params
 * validation, auth'd connection state, tenant checks, limits) plus the runtime hop.
 *
 * - `ws.ask.roundtrips`: `agent.ask` round trips per second against a micro agent (echo handler)
 *   with 1 and with 16 concurrent clients (one request in flight each), vs a raw `ws` echo server
 *   answering the same frames. Target: ≥ 60% of the raw echo rate.
 * - `ws.events.fanout`: events delivered per second to 100 subscribers, vs a raw `ws` server
 *   broadcasting the same notification frames to 100 clients.
 */
import type { AddressInfo } from "node:net";
import { Effect, Exit, Scope } from "effect";
import WebSocket, { WebSocketServer } from "ws";
import { builtinHandlersPlugin } from "../plugins/handlers/builtin.ts";
import { scriptedPlugin } from "../plugins/providers/scripted.ts";
import { localTenant } from "../protocols/ws/auth.ts";
import { defaultServerOptions } from "../protocols/ws/options.ts";
import { makeWsServer } from "../protocols/ws/server.ts";
import { type ArborRuntime, makeAgentSystem } from "../runtime/agent-system.ts";
import { AgentSystem } from "../runtime/system.ts";
import type { Bench, BenchResult } from "./harness.ts";
import { round } from "./harness.ts";

/** Alternating rounds of raw and Arbor, so both see the same (shared, noisy) machine; medians are reported. */
const ROUNDS = 5;
const ROUND_MS = 400;

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

interface Arbor {
  readonly url: string;
  readonly runtime: ArborRuntime;
  readonly close: () => Promise<void>;
}

const startArbor = async (): Promise<Arbor> => {
  const scope = Effect.runSync(Scope.make());
  const { runtime, server } = await Effect.runPromise(
    Effect.gen(function* () {
      const runtime = yield* makeAgentSystem({ plugins: [scriptedPlugin, builtinHandlersPlugin] });
      const server = yield* makeWsServer({
        port: 0,
        // Benchmarks measure throughput, not the limits that protect a shared server.
        limits: { ...defaultServerOptions.limits, ratePerSecond: 1e9, rateBurst: 1e9 },
        backpressure: { highWaterBytes: 256 * 1024 * 1024, maxDroppedEvents: 1e9 },
      }).pipe(Effect.provideService(AgentSystem, runtime));
      return { runtime, server };
    }).pipe(Scope.extend(scope)),
  );
  return {
    url: server.url,
    runtime,
    close: () => Effect.runPromise(Effect.zipRight(server.shutdown(), Scope.close(scope, Exit.void))),
  };
};

interface Raw {
  readonly url: string;
  readonly wss: WebSocketServer;
  readonly close: () => Promise<void>;
}

/** The baseline: a raw `ws` server that answers every frame with a result frame for its id. */
const startRawEcho = async (): Promise<Raw> => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  wss.on("connection", (ws) =>
    ws.on("message", (data) => {
      const request = JSON.parse(data.toString()) as { id: number; params: { input: string } };
      ws.send(
        JSON.stringify({
          jsonrpc: "2.0",
          id: request.id,
          result: { output: request.params.input, usage: { inputTokens: 0, outputTokens: 0 } },
        }),
      );
    }),
  );
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    wss,
    close: () => new Promise((resolve) => wss.close(() => resolve())),
  };
};

const open = (url: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });

/** Each client sends one request, waits for its answer, repeats for `ms`; returns round trips per second. */
const roundTrips = async (sockets: ReadonlyArray<WebSocket>, to: string, ms: number): Promise<number> => {
  const loop = async (ws: WebSocket, deadline: number) => {
    let id = 0;
    let done = 0;
    while (performance.now() < deadline) {
      id += 1;
      const reply = new Promise<void>((resolve) =>
        ws.once("message", (data) => {
          const message = JSON.parse(data.toString()) as { id: number; result?: unknown };
          if (message.id !== id || message.result === undefined)
            throw new Error(`unexpected reply: ${data.toString()}`);
          resolve();
        }),
      );
      ws.send(
        JSON.stringify({ jsonrpc: "2.0", id, method: "agent.ask", params: { to, input: `ping ${id}` } }),
      );
      await reply;
      done += 1;
    }
    return done;
  };
  const start = performance.now();
  const counts = await Promise.all(sockets.map((ws) => loop(ws, start + ms)));
  const elapsed = performance.now() - start;
  return (counts.reduce((a, b) => a + b, 0) / elapsed) * 1000;
};

/** Medians over alternating rounds: [Arbor, raw]. */
const compareRoundTrips = async (arborUrl: string, rawUrl: string, clients: number, to: string) => {
  const arborSockets = await Promise.all(Array.from({ length: clients }, () => open(arborUrl)));
  const rawSockets = await Promise.all(Array.from({ length: clients }, () => open(rawUrl)));
  await roundTrips(rawSockets, to, 200); // warm-up both
  await roundTrips(arborSockets, to, 200);
  const arbor: Array<number> = [];
  const raw: Array<number> = [];
  for (let round = 0; round < ROUNDS; round++) {
    raw.push(await roundTrips(rawSockets, to, ROUND_MS));
    arbor.push(await roundTrips(arborSockets, to, ROUND_MS));
  }
  for (const ws of [...arborSockets, ...rawSockets]) ws.terminate();
  return { value: median(arbor), baselineValue: median(raw) };
};

const askBench: Bench = {
  name: "ws.ask.roundtrips",
  run: async () => {
    const arbor = await startArbor();
    const raw = await startRawEcho();
    // Loopback clients without a token are the `local` tenant; the tree must be theirs.
    const { root } = await Effect.runPromise(
      arbor.runtime.spawnTree(
        { name: "bench", root: { name: "echo", kind: "micro", handler: "echo" } },
        { tenant: localTenant },
      ),
    );
    const results: Array<BenchResult> = [];
    try {
      for (const clients of [1, 16]) {
        const { value, baselineValue } = await compareRoundTrips(arbor.url, raw.url, clients, root);
        results.push({
          bench: `ws.ask.roundtrips.c${clients}`,
          unit: "round trips/s (higher is better)",
          value: round(value, 0),
          baseline: "raw ws echo server, same frames",
          baselineValue: round(baselineValue, 0),
          ratio: round(value / baselineValue),
          clients,
          rounds: ROUNDS,
          target: "ratio ≥ 0.6",
        });
      }
    } finally {
      await arbor.close();
      await raw.close();
    }
    return results;
  },
};

const SUBSCRIBERS = 100;
const EVENTS = 2_000;

/** Opens `n` sockets, runs `subscribe` on each, then `publish`; resolves with deliveries/s once all got `EVENTS`. */
const fanOut = async (
  url: string,
  subscribe: (ws: WebSocket) => Promise<void>,
  publish: () => Promise<void>,
): Promise<number> => {
  const sockets = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => open(url)));
  await Promise.all(sockets.map(subscribe));
  const all = Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          let got = 0;
          ws.on("message", () => {
            got += 1;
            if (got === EVENTS) resolve();
          });
        }),
    ),
  );
  const start = performance.now();
  await publish();
  await all;
  const elapsed = performance.now() - start;
  for (const ws of sockets) ws.terminate();
  return ((SUBSCRIBERS * EVENTS) / elapsed) * 1000;
};

const pace = () => new Promise((resolve) => setImmediate(resolve));

const fanOutBench: Bench = {
  name: "ws.events.fanout",
  run: async () => {
    const arbor = await startArbor();
    const raw = await startRawEcho();
    const { treeId } = await Effect.runPromise(
      arbor.runtime.spawnTree(
        { name: "fan", root: { name: "echo", kind: "micro", handler: "echo" } },
        { tenant: localTenant },
      ),
    );
    const event = {
      type: "agent.task",
      tree: treeId,
      address: `/${treeId}/echo`,
      id: "ag_b",
      input: "x",
    } as const;
    try {
      const baselineValue = await fanOut(
        raw.url,
        async () => {},
        async () => {
          for (let i = 0; i < EVENTS; i++) {
            const frame = JSON.stringify({
              jsonrpc: "2.0",
              method: "event",
              params: { subscription: "sub-1", event: { ...event, requestId: `r${i}`, time: Date.now() } },
            });
            for (const client of raw.wss.clients) client.send(frame);
            if (i % 100 === 99) await pace();
          }
        },
      );
      const value = await fanOut(
        arbor.url,
        (ws) =>
          new Promise<void>((resolve) => {
            ws.once("message", () => resolve());
            ws.send(
              JSON.stringify({
                jsonrpc: "2.0",
                id: 1,
                method: "events.subscribe",
                params: { treeId, types: ["agent.task"] },
              }),
            );
          }),
        async () => {
          for (let i = 0; i < EVENTS; i++) {
            arbor.runtime.events.publishSync({ ...event, requestId: `r${i}` });
            if (i % 100 === 99) await pace();
          }
        },
      );
      return [
        {
          bench: "ws.events.fanout",
          unit: "event deliveries/s to 100 subscribers (higher is better)",
          value: round(value, 0),
          baseline: "raw ws broadcast of the same frames",
          baselineValue: round(baselineValue, 0),
          ratio: round(value / baselineValue),
          subscribers: SUBSCRIBERS,
          events: EVENTS,
        },
      ];
    } finally {
      await arbor.close();
      await raw.close();
    }
  },
};

/** The WebSocket benchmarks, for `npm run bench`. */
export const benches: ReadonlyArray<Bench> = [askBench, fanOutBench];
