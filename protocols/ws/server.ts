/**
 * `arbor serve`'s server: HTTP (`/healthz`, `/metrics`) and a `ws` WebSocket endpoint at `/rpc`
 * speaking JSON-RPC 2.0 over the runtime's public `AgentSystem` service. Scoped: closing the scope
 * shuts down gracefully (stop accepting, let in-flight requests finish for `shutdownGraceMs`, fail
 * the rest with `shutting_down`, stop the trees spawned through it in reverse order, close sockets).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { Data, Deferred, Effect, FiberId, FiberSet, type Scope } from "effect";
import { type WebSocket, WebSocketServer } from "ws";
import type { Fault } from "../../runtime/errors.ts";
import { AgentSystem, type AgentSystemService } from "../../runtime/system.ts";
import { authenticate, isLoopbackHost, localTenant, selectProtocol } from "./auth.ts";
import { RpcCode, type RpcFailure } from "./codes.ts";
import { makeConnection } from "./connection.ts";
import { errorResponse, notification } from "./jsonrpc.ts";
import { type ExtraMethods, makeMethods } from "./methods.ts";
import { makeMetrics, makeServerCounters } from "./metrics.ts";
import { defaultServerOptions, defaultTenant, type WsServerOptions } from "./options.ts";
import { makeOwnership } from "./ownership.ts";
import { makeEventHub, type Subscriber } from "./subscriptions.ts";

/** The server could not start. */
export class ServerStartError extends Data.TaggedError("ServerStartError")<{
  readonly reason: "insecure_bind" | "listen_failed";
  readonly detail: string;
}> {
  readonly fault: Fault = "config";
  override get message(): string {
    return this.detail;
  }
}

/** A running server. */
/**
 * An extra HTTP endpoint on the server (the MCP Streamable HTTP endpoint at `/mcp`). The request is
 * authenticated like a WebSocket upgrade first; `operatorOnly` routes also refuse every tenant but
 * the operator's (`local` without a token, `default` with `ARBOR_TOKEN`).
 */
export interface HttpRoute {
  readonly path: string;
  /** Also answers every path below `path` (`/inspector/` serves `/inspector/app.js`). */
  readonly prefix?: boolean;
  /**
   * Served without authentication: static assets that hold no data (the inspector's page, which then
   * authenticates its WebSocket like any client). Gotcha: never for a route that reads the runtime.
   */
  readonly public?: boolean;
  readonly operatorOnly: boolean;
  readonly handle: (req: IncomingMessage, res: ServerResponse) => Promise<unknown>;
}

export interface WsServer {
  /** `ws://host:port/rpc` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Graceful shutdown; idempotent. Also runs when the scope closes. */
  readonly shutdown: (reason?: string) => Effect.Effect<void>;
}

/** Close code sent to clients when the server shuts down (Going Away). */
export const shutdownCloseCode = 1001;

const refuse = (socket: Duplex, status: number, text: string, reason: string) => {
  const body = JSON.stringify({ error: reason });
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
};

/**
 * Starts the server on the `AgentSystem` in context. `extra` adds methods from other areas
 * (`providerMethods`, `memoryRpcMethods`). Fails with `insecure_bind` when asked to listen beyond
 * loopback without a token.
 *
 * Gotcha: call `shutdown()` before closing the runtime. If both live in one scope, trees spawned
 * after the server started are closed by that scope *before* the server's own finalizer runs, so
 * requests in flight would not get their graceful answers (`arbor serve` and the tests do this).
 */
export const makeWsServer = (
  overrides: Partial<WsServerOptions> = {},
  extra: ExtraMethods = {},
  routes: ReadonlyArray<HttpRoute> = [],
): Effect.Effect<WsServer, ServerStartError, AgentSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const options: WsServerOptions = { ...defaultServerOptions, ...overrides };
    if (options.tokens.length === 0 && !isLoopbackHost(options.host)) {
      return yield* Effect.fail(
        new ServerStartError({
          reason: "insecure_bind",
          detail: `refusing to listen on ${options.host} without a token: set ARBOR_TOKEN (or server.token) or bind 127.0.0.1`,
        }),
      );
    }
    const system: AgentSystemService = yield* AgentSystem;
    const runtime = yield* Effect.runtime<never>();
    // Read once: running an effect per request just to read the clock costs more than the request.
    const clock = yield* Effect.clock;
    const now = () => clock.unsafeCurrentTimeMillis();
    const counters = makeServerCounters();
    const ownership = makeOwnership(system);
    const hub = yield* makeEventHub(system, ownership, options.backpressure);
    const metrics = makeMetrics({ system, server: counters, hub: hub.counters, runtime, now });
    yield* Effect.addFinalizer(() => Effect.sync(metrics.close));
    /** Every request running, so shutdown can wait for them and then interrupt the rest. */
    const frames = yield* FiberSet.make<unknown, RpcFailure>();
    const fork = yield* FiberSet.runtime(frames)<never>();
    const sockets = new Set<WebSocket>();
    /** Trees spawned through this server, in spawn order: shutdown stops them in reverse. */
    const spawnedTrees = new Set<string>();
    let shuttingDown = false;
    let ready = false;

    const trackingSystem: AgentSystemService = {
      ...system,
      spawnTree: (spec, opts) =>
        Effect.tap(system.spawnTree(spec, opts), (handle) =>
          Effect.sync(() => spawnedTrees.add(handle.treeId)),
        ),
      stopTree: (treeId, reason) =>
        Effect.tap(system.stopTree(treeId, reason), () => Effect.sync(() => spawnedTrees.delete(treeId))),
    };
    const methods = makeMethods({ system: trackingSystem, ownership, hub, limits: options.limits }, extra);

    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.limits.maxPayloadBytes,
      handleProtocols: (offered) => selectProtocol(offered),
      perMessageDeflate: false,
    });

    const onConnection = (ws: WebSocket, tenant: string) => {
      sockets.add(ws);
      counters.connectionsOpen += 1;
      counters.connectionsTotal += 1;
      const subscriber: Subscriber = {
        tenant,
        bufferedAmount: () => ws.bufferedAmount,
        send: (text) => {
          if (ws.readyState !== ws.OPEN) return;
          counters.framesSent += 1;
          ws.send(text);
        },
        close: (code, reason) => ws.close(code, reason),
      };
      const connection = makeConnection(
        { methods, limits: options.limits, counters, now, fork, isShuttingDown: () => shuttingDown },
        { tenant, subscriber },
      );
      ws.on("message", (data, isBinary) => {
        counters.framesReceived += 1;
        if (isBinary) {
          subscriber.send(
            JSON.stringify(
              errorResponse(null, RpcCode.invalidRequest, "invalid request: send JSON-RPC as text frames", {
                reason: "binary_frame",
                fault: "user",
              }),
            ),
          );
          return;
        }
        const text = Array.isArray(data) ? Buffer.concat(data).toString("utf8") : data.toString();
        connection.handle(text, subscriber.send);
      });
      ws.on("error", (error: Error & { code?: string }) => {
        if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") counters.framesTooLarge += 1;
      });
      ws.on("close", () => {
        sockets.delete(ws);
        counters.connectionsOpen -= 1;
        hub.removeAll(subscriber);
        connection.closed();
      });
    };

    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => socket.destroy());
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      const refused = (status: number, text: string, reason: string) => {
        counters.upgradesRefused += 1;
        refuse(socket, status, text, reason);
      };
      if (shuttingDown) return refused(503, "Service Unavailable", "server is shutting down");
      if (path !== options.path) return refused(404, "Not Found", `WebSocket endpoint is ${options.path}`);
      const auth = authenticate(req, options.tokens);
      if (!auth.ok)
        return refused(auth.status, auth.status === 401 ? "Unauthorized" : "Forbidden", auth.reason);
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, auth.tenant));
    };

    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      };
      const route = routes.find((r) => r.path === path || (r.prefix === true && path.startsWith(r.path)));
      if (route?.public) {
        route.handle(req, res).catch(() => {
          if (!res.headersSent) json(500, { error: "internal error" });
        });
        return;
      }
      if (route) {
        if (shuttingDown) return json(503, { error: "server is shutting down" });
        const auth = authenticate(req, options.tokens);
        if (!auth.ok) return json(auth.status, { error: auth.reason });
        if (route.operatorOnly && auth.tenant !== localTenant && auth.tenant !== defaultTenant) {
          return json(403, { error: `${path} acts as the operator: use the operator token (ARBOR_TOKEN)` });
        }
        route.handle(req, res).catch((error: unknown) => {
          if (!res.headersSent) json(500, { error: `internal error: ${String(error)}` });
        });
        return;
      }
      if (req.method !== "GET") return json(405, { error: "method not allowed" });
      if (path === "/healthz") {
        return ready && !shuttingDown ? json(200, { status: "ok" }) : json(503, { status: "unavailable" });
      }
      if (path === "/metrics") {
        if (options.tokens.length > 0) {
          // Runtime-wide figures are the operator's: a tenant token gets 403.
          const auth = authenticate(req, options.tokens);
          if (!auth.ok) return json(401, { error: "metrics need a bearer token" });
          if (auth.tenant !== localTenant && auth.tenant !== defaultTenant)
            return json(403, { error: "/metrics is runtime-wide: use the operator token (ARBOR_TOKEN)" });
        }
        metrics.render().then(
          (text) => {
            res.writeHead(200, { "content-type": metrics.contentType }).end(text);
          },
          () => json(500, { error: "metrics unavailable" }),
        );
        return;
      }
      json(404, {
        error: "not found",
        endpoints: ["/healthz", "/metrics", options.path, ...routes.map((r) => r.path)],
      });
    };

    const http = createServer(onRequest);
    http.on("upgrade", onUpgrade);
    const port = yield* Effect.async<number, ServerStartError>((resume) => {
      const onError = (error: Error) =>
        resume(
          Effect.fail(
            new ServerStartError({
              reason: "listen_failed",
              detail: `cannot listen on ${options.host}:${options.port}: ${error.message}`,
            }),
          ),
        );
      http.once("error", onError);
      http.listen(options.port, options.host, () => {
        http.off("error", onError);
        const address = http.address();
        resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : options.port));
      });
    });
    ready = true;

    const done = yield* Deferred.make<void>();
    const shutdown = (reason = "server shutting down"): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (shuttingDown) return Deferred.await(done);
        shuttingDown = true;
        return Effect.gen(function* () {
          const listening = Deferred.unsafeMake<void>(FiberId.none);
          http.close(() => Deferred.unsafeDone(listening, Effect.void));
          http.closeIdleConnections();
          const notice = notification("server.shutdown", { reason });
          for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(notice);
          // Finalizers run uninterruptibly; the waits below must be interruptible for their timeouts to work.
          yield* Effect.interruptible(
            FiberSet.awaitEmpty(frames).pipe(Effect.timeoutOption(options.shutdownGraceMs)),
          );
          // Whatever is still running answers `shutting_down` as it is interrupted.
          yield* FiberSet.clear(frames);
          for (const treeId of [...spawnedTrees].reverse())
            yield* Effect.ignore(system.stopTree(treeId, reason));
          // Let subscribers see the trees stop before their connections close.
          yield* hub.drain(1_000);
          for (const ws of sockets) ws.close(shutdownCloseCode, reason);
          wss.close();
          yield* Effect.interruptible(Deferred.await(listening).pipe(Effect.timeoutOption(2_000)));
          http.closeAllConnections();
          for (const ws of sockets) ws.terminate();
        }).pipe(Effect.ensuring(Deferred.succeed(done, undefined)));
      });
    yield* Effect.addFinalizer(() => shutdown());

    const host = options.host.includes(":") ? `[${options.host}]` : options.host;
    return { url: `ws://${host}:${port}${options.path}`, host: options.host, port, shutdown };
  });
