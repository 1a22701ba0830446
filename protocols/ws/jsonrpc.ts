/**
 * JSON-RPC 2.0 framing: turns one WebSocket text frame into requests (single or batch) and builds
 * responses. Pure functions; no I/O. A frame that cannot be understood yields error responses,
 * never an exception, so a bad frame cannot take a connection down.
 */
import { nestingProblem } from "../../runtime/nesting.ts";
import { RpcCode, type RpcErrorObject } from "./codes.ts";

/** A request id: JSON-RPC allows strings, numbers and null. */
export type RpcId = string | number | null;

/** A well-formed request. `id` is absent for a notification (which gets no response). */
export interface RpcRequest {
  readonly method: string;
  readonly params: unknown;
  readonly id?: RpcId;
  readonly isNotification: boolean;
}

/** A response object as sent on the wire. */
export type RpcResponse =
  | { readonly jsonrpc: "2.0"; readonly id: RpcId; readonly result: unknown }
  | { readonly jsonrpc: "2.0"; readonly id: RpcId; readonly error: RpcErrorObject };

/** One entry of a frame: a request to run, or an envelope error to answer right away. */
export type FrameEntry =
  | { readonly kind: "request"; readonly request: RpcRequest }
  | { readonly kind: "invalid"; readonly response: RpcResponse };

/** A parsed frame. `batch` tells whether answers must go back as an array. */
export type Frame =
  | { readonly kind: "error"; readonly response: RpcResponse }
  | { readonly kind: "messages"; readonly batch: boolean; readonly entries: ReadonlyArray<FrameEntry> };

/** Builds an error response. */
export const errorResponse = (
  id: RpcId,
  code: number,
  message: string,
  data: RpcErrorObject["data"],
): RpcResponse => ({ jsonrpc: "2.0", id, error: { code, message, data } });

/** Builds a success response. */
export const resultResponse = (id: RpcId, result: unknown): RpcResponse => ({ jsonrpc: "2.0", id, result });

/** A usable id; a number beyond JSON's range (`1e400` parses to Infinity) is not one: no answer could match it. */
const isId = (u: unknown): u is RpcId =>
  u === null || typeof u === "string" || (typeof u === "number" && Number.isFinite(u));

const invalidResponse = (id: RpcId, message: string): RpcResponse =>
  errorResponse(id, RpcCode.invalidRequest, message, { reason: "invalid_request", fault: "user" });

const invalid = (id: RpcId, message: string): FrameEntry => ({
  kind: "invalid",
  response: invalidResponse(id, message),
});

/** Checks one message of a frame against the JSON-RPC 2.0 request envelope; `params` may nest `maxNesting` levels. */
export const classify = (message: unknown, maxNesting: number, deepPossible = true): FrameEntry => {
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    return invalid(null, "invalid request: expected a JSON-RPC 2.0 request object");
  }
  const m = message as Record<string, unknown>;
  const hasId = Object.hasOwn(m, "id");
  const id: RpcId = hasId && isId(m.id) ? m.id : null;
  if (hasId && !isId(m.id))
    return invalid(null, "invalid request: id must be a string, a finite number or null");
  if (m.jsonrpc !== "2.0") return invalid(id, 'invalid request: "jsonrpc" must be "2.0"');
  if (typeof m.method !== "string" || m.method === "") {
    return invalid(id, 'invalid request: "method" must be a non-empty string');
  }
  if (m.params !== undefined && (typeof m.params !== "object" || m.params === null)) {
    return invalid(id, 'invalid request: "params" must be an object');
  }
  const deep =
    m.params === undefined || !deepPossible ? undefined : nestingProblem(m.params, maxNesting, "$.params");
  if (deep !== undefined) {
    return {
      kind: "invalid",
      response: errorResponse(id, RpcCode.invalidParams, `invalid params: ${deep.path}: ${deep.message}`, {
        reason: "too_deep",
        fault: "user",
        limit: maxNesting,
        problems: [deep],
      }),
    };
  }
  return {
    kind: "request",
    request: hasId
      ? { method: m.method, params: m.params, id, isNotification: false }
      : { method: m.method, params: m.params, isNotification: true },
  };
};

/**
 * Parses one text frame. `maxBatch` bounds how many requests one frame may carry, `maxNesting` how
 * deep a request's params may nest (deeper is refused before anything walks it).
 */
export const parseFrame = (text: string, maxBatch: number, maxNesting: number): Frame => {
  // Every level of nesting takes an opening and a closing bracket: a short frame cannot be too deep,
  // so the common small request skips the walk.
  const deepPossible = text.length > 2 * maxNesting;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {
      kind: "error",
      response: errorResponse(null, RpcCode.parseError, "parse error: the frame is not valid JSON", {
        reason: "parse_error",
        fault: "user",
      }),
    };
  }
  if (!Array.isArray(parsed))
    return { kind: "messages", batch: false, entries: [classify(parsed, maxNesting, deepPossible)] };
  if (parsed.length === 0) {
    return { kind: "error", response: invalidResponse(null, "invalid request: empty batch") };
  }
  if (parsed.length > maxBatch) {
    return {
      kind: "error",
      response: errorResponse(
        null,
        RpcCode.invalidRequest,
        `invalid request: batch of ${parsed.length} exceeds the limit of ${maxBatch}`,
        { reason: "batch_too_large", fault: "user", limit: maxBatch },
      ),
    };
  }
  return {
    kind: "messages",
    batch: true,
    entries: parsed.map((message) => classify(message, maxNesting, deepPossible)),
  };
};

/** Serializes a notification (a server-to-client message without id). */
export const notification = (method: string, params: unknown): string =>
  JSON.stringify({ jsonrpc: "2.0", method, params });
