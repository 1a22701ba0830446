/**
 * The typed Arbor client: one WebSocket to `arbor serve`, typed methods (`ask`, `spawn`, …) whose
 * params and results come from the server's own contract, and event subscriptions delivered to a
 * callback. Used by the CLI, the tests and users' code.
 *
 * Gotcha: event notifications can overtake the answer to `events.subscribe`; the client holds
 * them back until the subscription is known, so the callback sees every event in order.
 */
import WebSocket from "ws";
import type { ArborEvent } from "../../runtime/events.ts";
import type { StreamPart } from "../stream-parts.ts";
import type {
  DeltaNotification,
  DroppedNotification,
  MethodName,
  MethodResults,
  ParamsOf,
} from "../ws/contract.ts";
import { type ApprovalHandler, watchApprovals } from "./approvals.ts";
import { ConnectionClosed, RpcError } from "./errors.ts";
import { DeltaRoutes } from "./stream.ts";

/** How to connect. */
export interface ConnectOptions {
  /** Bearer token; defaults to `ARBOR_TOKEN` when set. Sent in the `Authorization` header. */
  readonly token?: string;
  /** Rejects `connect` when the socket is not open after this long (default 10 s). */
  readonly connectTimeoutMs?: number;
}

/** Filters of an event subscription. */
export interface SubscribeOptions {
  readonly treeId?: string;
  /** Event types or patterns: `agent.restarted`, `agent.*`. */
  readonly types?: ReadonlyArray<string>;
  /** Called when the server reports events it dropped because this client read too slowly. */
  readonly onDropped?: (notice: DroppedNotification) => void;
}

/** A live subscription. */
export interface Subscription {
  readonly id: string;
  readonly unsubscribe: () => Promise<void>;
}

/** Params a caller passes: methods whose params are all optional may omit them. */
export type CallParams<M extends MethodName> =
  Record<string, never> extends ParamsOf<M> ? [params?: ParamsOf<M>] : [params: ParamsOf<M>];

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

interface Listener {
  readonly onEvent: (event: ArborEvent) => void;
  readonly onDropped?: (notice: DroppedNotification) => void;
}

/** A connection to an Arbor server. Make one with `ArborClient.connect`. */
export class ArborClient {
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, Listener>();
  /** Notifications for subscriptions whose `events.subscribe` answer has not arrived yet. */
  private readonly early = new Map<string, Array<{ method: string; params: unknown }>>();
  private subscribing = 0;
  private nextId = 0;
  private closedWith: ConnectionClosed | undefined;
  private readonly closeListeners = new Set<(error: ConnectionClosed) => void>();
  private readonly shutdownListeners = new Set<(reason: string) => void>();
  /** Delta listeners of streamed asks in flight, by request id. */
  private readonly deltas = new DeltaRoutes();

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data) => this.onMessage(data.toString()));
    ws.on("close", (code, reason) => this.handleClose(code, reason.toString()));
    ws.on("error", () => {});
  }

  /** Opens a connection; rejects with `ConnectionClosed` (or the HTTP refusal) when it cannot. */
  static connect(url: string, options: ConnectOptions = {}): Promise<ArborClient> {
    const token = options.token ?? process.env.ARBOR_TOKEN;
    const ws = new WebSocket(url, ["arbor.v1"], {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      handshakeTimeout: options.connectTimeoutMs ?? 10_000,
      perMessageDeflate: false,
    });
    // A refused or failed handshake still emits "error" after we have rejected; never let it go unhandled.
    ws.on("error", () => {});
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(new ConnectionClosed(1006, error.message));
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on("end", () => {
          ws.off("error", onError);
          let reason = res.statusMessage ?? "";
          try {
            reason = (JSON.parse(body) as { error?: string }).error ?? reason;
          } catch {}
          reject(
            new ConnectionClosed(1008, `server refused the connection (HTTP ${res.statusCode}): ${reason}`),
          );
          ws.terminate();
        });
      });
      ws.once("error", onError);
      ws.once("open", () => {
        ws.off("error", onError);
        resolve(new ArborClient(ws));
      });
    });
  }

  /** Calls a method and resolves with its result; rejects with `RpcError` or `ConnectionClosed`. */
  call<M extends MethodName>(method: M, ...[params]: CallParams<M>): Promise<MethodResults[M]> {
    return this.request(method, params ?? {}) as Promise<MethodResults[M]>;
  }

  /** Calls any method by name (for methods added by plugins: `tools.*`, `providers.*`, `memory.*`). */
  request(method: string, params: object = {}): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    this.nextId += 1;
    const id = this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  /** Sends a notification (no answer, errors are not reported). */
  notify(method: string, params: object = {}): void {
    if (!this.closedWith) this.ws.send(JSON.stringify({ jsonrpc: "2.0", method, params }));
  }

  /** Spawns a tree from a spec (the same JSON/YAML object `arbor run` takes). */
  spawn(spec: unknown): Promise<MethodResults["tree.spawn"]> {
    return this.call("tree.spawn", { spec });
  }
  /**
   * Asks an agent and waits for its reply. `options` may be the deadline in ms, or
   * `{ timeoutMs, requestId, thread }`: `requestId` lets `cancel` withdraw the ask, `thread` continues
   * a conversation with an agent that keeps history.
   */
  ask(
    to: string,
    input: string,
    options?: number | Omit<ParamsOf<"agent.ask">, "to" | "input">,
  ): Promise<MethodResults["agent.ask"]> {
    const extra = typeof options === "number" ? { timeoutMs: options } : (options ?? {});
    return this.call("agent.ask", { ...extra, to, input });
  }
  /**
   * Asks with `stream: true`: yields the answer's deltas as the agent writes them (already through
   * its output guardrails), then the result. Breaking out of the loop does not cancel the ask; call
   * `cancel` with `options.requestId` for that.
   */
  stream(
    to: string,
    input: string,
    options: Omit<ParamsOf<"agent.ask">, "to" | "input" | "stream"> = {},
  ): AsyncIterable<StreamPart> {
    return this.deltas.stream((params) => this.call("agent.ask", params), { ...options, to, input });
  }
  /** The tool calls waiting for a person that this client's tenant may decide. */
  async approvals(): Promise<MethodResults["approval.list"]["approvals"]> {
    return (await this.call("approval.list")).approvals;
  }
  /** Approves or denies a pending tool call; `args` (approve only) replaces the model's arguments. */
  decide(
    approvalId: string,
    decision: Omit<ParamsOf<"approval.decide">, "approvalId">,
  ): Promise<MethodResults["approval.decide"]> {
    return this.call("approval.decide", { approvalId, ...decision });
  }
  /**
   * Calls `handler` for every approval requested in this tenant's trees from now on; when it returns
   * a decision, that decision is sent. Resolves with the unsubscribe function.
   */
  onApproval(handler: ApprovalHandler): Promise<() => Promise<void>> {
    return watchApprovals(this, handler);
  }
  /** Cancels an ask started with `requestId`: it fails with `cancelled` and the agent's step is interrupted. */
  cancel(to: string, requestId: string): Promise<MethodResults["agent.cancel"]> {
    return this.call("agent.cancel", { to, requestId });
  }
  /** The remembered messages of a conversation thread of an agent. */
  history(to: string, thread: string): Promise<MethodResults["agent.history"]> {
    return this.call("agent.history", { to, thread });
  }
  /** Sends a message without waiting for any reply. */
  send(to: string, message: string): Promise<MethodResults["agent.send"]> {
    return this.call("agent.send", { to, message });
  }
  /** The live tree, nested. */
  inspect(treeId: string): Promise<MethodResults["tree.inspect"]> {
    return this.call("tree.inspect", { treeId });
  }
  /** Trees of this client's tenant. */
  async trees(): Promise<MethodResults["tree.list"]["trees"]> {
    return (await this.call("tree.list")).trees;
  }
  /** Stops a tree, children first. */
  stopTree(treeId: string, reason?: string): Promise<MethodResults["tree.stop"]> {
    return this.call("tree.stop", reason === undefined ? { treeId } : { treeId, reason });
  }
  /** Crashes an agent on purpose: its supervisor handles it as an abnormal exit. */
  kill(to: string, reason?: string): Promise<MethodResults["agent.kill"]> {
    return this.call("agent.kill", reason === undefined ? { to } : { to, reason });
  }
  /** Stops one agent normally (not restarted). */
  stopAgent(to: string, reason?: string): Promise<MethodResults["agent.stop"]> {
    return this.call("agent.stop", reason === undefined ? { to } : { to, reason });
  }
  /** Runtime counters. */
  stats(): Promise<MethodResults["runtime.stats"]> {
    return this.call("runtime.stats");
  }

  /** Subscribes to events; `onEvent` sees each matching event once, in order. */
  async subscribe(options: SubscribeOptions, onEvent: (event: ArborEvent) => void): Promise<Subscription> {
    const params: { treeId?: string; types?: ReadonlyArray<string> } = {};
    if (options.treeId !== undefined) params.treeId = options.treeId;
    if (options.types !== undefined) params.types = options.types;
    this.subscribing += 1;
    let id: string;
    try {
      id = (await this.call("events.subscribe", params)).subscription;
    } finally {
      this.subscribing -= 1;
    }
    this.listeners.set(id, options.onDropped ? { onEvent, onDropped: options.onDropped } : { onEvent });
    const early = this.early.get(id) ?? [];
    this.early.delete(id);
    for (const n of early) this.dispatch(n.method, n.params);
    if (this.subscribing === 0) this.early.clear();
    return {
      id,
      unsubscribe: async () => {
        this.listeners.delete(id);
        if (!this.closedWith) await this.call("events.unsubscribe", { subscription: id });
      },
    };
  }

  /** Called once when the connection closes, with the close code and reason. */
  onClose(listener: (error: ConnectionClosed) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Called when the server announces it is shutting down. */
  onShutdown(listener: (reason: string) => void): () => void {
    this.shutdownListeners.add(listener);
    return () => this.shutdownListeners.delete(listener);
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Closes the connection; pending requests reject with `ConnectionClosed`. */
  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once("close", () => resolve());
      this.ws.close(1000, "client closed");
    });
  }

  private onMessage(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    for (const m of Array.isArray(message) ? message : [message]) {
      if (typeof m !== "object" || m === null) continue;
      const r = m as {
        id?: unknown;
        result?: unknown;
        error?: { code: number; message: string; data?: unknown };
        method?: unknown;
        params?: unknown;
      };
      if (typeof r.method === "string") {
        this.dispatch(r.method, r.params);
        continue;
      }
      if (typeof r.id !== "number") continue;
      const pending = this.pending.get(r.id);
      if (pending === undefined) continue;
      this.pending.delete(r.id);
      if (r.error) pending.reject(new RpcError(r.error.code, r.error.message, r.error.data));
      else pending.resolve(r.result);
    }
  }

  private dispatch(method: string, params: unknown): void {
    const p = (params ?? {}) as { subscription?: string; event?: ArborEvent; reason?: string };
    if (method === "agent.delta") {
      const delta = params as DeltaNotification;
      this.deltas.dispatch(delta);
      return;
    }
    if (method === "server.shutdown") {
      for (const l of this.shutdownListeners) l(String(p.reason ?? ""));
      return;
    }
    if (typeof p.subscription !== "string") return;
    const listener = this.listeners.get(p.subscription);
    if (listener === undefined) {
      if (this.subscribing > 0) {
        const queue = this.early.get(p.subscription) ?? [];
        if (queue.length < 100_000) queue.push({ method, params });
        this.early.set(p.subscription, queue);
      }
      return;
    }
    if (method === "event" && p.event) listener.onEvent(p.event);
    else if (method === "events.dropped") listener.onDropped?.(params as DroppedNotification);
  }

  private handleClose(code: number, reason: string): void {
    const error = new ConnectionClosed(code, reason);
    this.closedWith = error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    for (const l of this.closeListeners) l(error);
  }
}
