/**
 * Test harness: a server on 127.0.0.1 (port 0) over a runtime, and a raw WebSocket that reads
 * frames one at a time, so tests can speak JSON-RPC byte for byte like any other client.
 */
import { Effect, Exit, Scope } from "effect";
import WebSocket from "ws";
import type { ExtraMethods } from "../../protocols/ws/methods.ts";
import type { WsServerOptions } from "../../protocols/ws/options.ts";
import { makeWsServer, type WsServer } from "../../protocols/ws/server.ts";
import { AgentSystem, type AgentSystemService } from "../../runtime/system.ts";

export interface Running {
  readonly server: WsServer;
  readonly url: string;
  readonly httpUrl: string;
  readonly system: AgentSystemService;
  readonly close: () => Promise<void>;
}

/** Starts a server on a free port; `close` shuts it down and releases the runtime. */
export const startServer = async (
  system: AgentSystemService,
  options: Partial<WsServerOptions> = {},
  extra: ExtraMethods = {},
): Promise<Running> => {
  const scope = Effect.runSync(Scope.make());
  const server = await Effect.runPromise(
    makeWsServer({ host: "127.0.0.1", port: 0, ...options }, extra).pipe(
      Effect.provideService(AgentSystem, system),
      Scope.extend(scope),
    ),
  );
  return {
    server,
    url: server.url,
    httpUrl: `http://127.0.0.1:${server.port}`,
    system,
    close: () => Effect.runPromise(Scope.close(scope, Exit.void)),
  };
};

/** A raw socket with a queue of received frames. */
export interface RawSocket {
  readonly ws: WebSocket;
  readonly send: (value: unknown) => void;
  readonly sendText: (text: string) => void;
  /** The next frame, parsed. */
  readonly next: () => Promise<unknown>;
  /** Sends a request and waits for the response with the same id (other frames are kept). */
  readonly call: (method: string, params?: unknown) => Promise<RpcReply>;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly close: () => void;
}

export interface RpcReply {
  readonly id: unknown;
  readonly result?: unknown;
  readonly error?: {
    readonly code: number;
    readonly message: string;
    readonly data: Record<string, unknown>;
  };
}

/** Opens a raw socket; rejects with the HTTP status when the upgrade is refused. */
export const openRaw = (url: string, headers: Record<string, string> = {}, protocols?: string[]) =>
  new Promise<RawSocket>((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    const frames: Array<unknown> = [];
    const waiters: Array<(v: unknown) => void> = [];
    const byId = new Map<unknown, (r: RpcReply) => void>();
    let nextId = 1000;
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.on("close", (code, reason) => r({ code, reason: reason.toString() })),
    );
    ws.on("message", (data) => {
      const parsed: unknown = JSON.parse(data.toString());
      const id = (parsed as { id?: unknown }).id;
      if (!Array.isArray(parsed) && id !== undefined && byId.has(id)) {
        byId.get(id)!(parsed as RpcReply);
        byId.delete(id);
        return;
      }
      const waiter = waiters.shift();
      if (waiter) waiter(parsed);
      else frames.push(parsed);
    });
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("error", reject);
    ws.once("open", () =>
      resolve({
        ws,
        send: (value) => ws.send(JSON.stringify(value)),
        sendText: (text) => ws.send(text),
        next: () =>
          frames.length > 0 ? Promise.resolve(frames.shift()) : new Promise((r) => waiters.push(r)),
        call: (method, params) =>
          new Promise<RpcReply>((r) => {
            nextId += 1;
            byId.set(nextId, r);
            ws.send(JSON.stringify({ jsonrpc: "2.0", id: nextId, method, params }));
          }),
        closed,
        close: () => ws.close(),
      }),
    );
  });
