/**
 * Errors the typed client rejects with. `RpcError` is the server's answer (stable `code`, `reason`
 * and `fault`, see docs/server.md); `ConnectionClosed` means no answer can come any more.
 */
import type { Fault } from "../../runtime/errors.ts";

/** The server answered a request with a JSON-RPC error. */
export class RpcError extends Error {
  override readonly name = "RpcError";
  /** JSON-RPC code (-32602 invalid params, -32002 not found, …). */
  readonly code: number;
  /** Stable machine-readable reason (`invalid_params`, `tree_not_found`, `rate_limited`, …). */
  readonly reason: string;
  /** Whose fault it was: `user`, `config`, `model`, `third_party` or `arbor`. */
  readonly fault: Fault;
  /** Everything the server put in `data` (problems with JSON paths, limits, retry hints, …). */
  readonly data: Readonly<Record<string, unknown>>;
  constructor(code: number, message: string, data: unknown) {
    super(message);
    this.code = code;
    const d = typeof data === "object" && data !== null ? (data as Record<string, unknown>) : {};
    this.data = d;
    this.reason = typeof d.reason === "string" ? d.reason : "unknown";
    this.fault = (typeof d.fault === "string" ? d.fault : "arbor") as Fault;
  }
}

/** The connection closed (or never opened) before the answer came. */
export class ConnectionClosed extends Error {
  override readonly name = "ConnectionClosed";
  /** WebSocket close code (1001 server shutdown, 1009 frame too large, 4008 slow consumer, 1006 lost). */
  readonly code: number;
  constructor(code: number, reason: string) {
    super(`connection closed (${code})${reason ? `: ${reason}` : ""}`);
    this.code = code;
  }
}
