/**
 * The one table of JSON-RPC error codes Arbor answers with, and the mapping from the runtime's
 * typed errors to it. Every error on the wire carries a stable `code`, and in `data` a stable
 * `reason` and the `fault` category (whose fault it was), plus a message a person can act on.
 */
import { Data } from "effect";
import type { Fault } from "../../runtime/errors.ts";

/** Standard JSON-RPC 2.0 codes and Arbor's application codes (documented in docs/server.md). */
export const RpcCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  unauthorized: -32001,
  notFound: -32002,
  guardrailViolation: -32003,
  tripwire: -32004,
  rateLimited: -32005,
  budgetExceeded: -32006,
  overloaded: -32007,
  timeout: -32008,
  agentFailed: -32009,
  providerError: -32010,
  notAllowed: -32011,
  pluginError: -32012,
  shuttingDown: -32013,
  configInvalid: -32014,
  storeError: -32015,
  cancelled: -32016,
} as const;

/** One of the codes above. */
export type RpcCodeValue = (typeof RpcCode)[keyof typeof RpcCode];

/** The `error` member of a JSON-RPC response. */
export interface RpcErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data: { readonly reason: string; readonly fault: Fault; readonly [detail: string]: unknown };
}

/**
 * A request failed: the value every method handler fails with. `details` lands in `data` beside
 * `reason` and `fault`; it must never hold a secret.
 */
export class RpcFailure extends Data.TaggedError("RpcFailure")<{
  readonly code: RpcCodeValue;
  readonly reason: string;
  readonly fault: Fault;
  readonly detail: string;
  readonly details?: Readonly<Record<string, unknown>>;
}> {
  override get message(): string {
    return this.detail;
  }
  /** The wire form. */
  toJson(): RpcErrorObject {
    return {
      code: this.code,
      message: this.detail,
      data: { ...this.details, reason: this.reason, fault: this.fault },
    };
  }
}

/** Shorthand for making an `RpcFailure`. */
export const rpcFailure = (
  code: RpcCodeValue,
  reason: string,
  fault: Fault,
  detail: string,
  details?: Readonly<Record<string, unknown>>,
): RpcFailure =>
  new RpcFailure(details ? { code, reason, fault, detail, details } : { code, reason, fault, detail });

interface Tagged {
  readonly _tag: string;
  readonly reason?: unknown;
  readonly fault?: unknown;
  readonly message?: unknown;
}

const isTagged = (u: unknown): u is Tagged =>
  typeof u === "object" && u !== null && typeof (u as { _tag?: unknown })._tag === "string";

const faultOf = (error: Tagged, fallback: Fault): Fault =>
  typeof error.fault === "string" ? (error.fault as Fault) : fallback;

/** Copies the fields of a runtime error that help a person, leaving out the ones already on the wire. */
const detailsOf = (error: Tagged): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (
      key === "_tag" ||
      key === "reason" ||
      key === "fault" ||
      key === "blame" ||
      key === "message" ||
      key === "stack"
    )
      continue;
    if (typeof value === "function") continue;
    out[key] = value;
  }
  return out;
};

const codeForTag = (error: Tagged): RpcCodeValue => {
  switch (error._tag) {
    case "NotFound":
      return RpcCode.notFound;
    case "MailboxFull":
      return RpcCode.overloaded;
    case "AgentFailed":
      return RpcCode.agentFailed;
    case "Timeout":
      return RpcCode.timeout;
    case "Cancelled":
      return RpcCode.cancelled;
    case "ProviderError":
      return error.reason === "budget_exceeded" ? RpcCode.budgetExceeded : RpcCode.providerError;
    case "GuardrailViolation":
      return RpcCode.guardrailViolation;
    case "TripwireTripped":
      return RpcCode.tripwire;
    case "NotAllowed":
      return RpcCode.notAllowed;
    case "SpecInvalid":
      return RpcCode.invalidParams;
    case "PluginError":
      return RpcCode.pluginError;
    case "ProviderConfigError":
    case "ConfigError":
    case "KnowledgeConfigError":
      return RpcCode.configInvalid;
    case "KnowledgeInputError":
      return RpcCode.invalidParams;
    case "StoreError":
    case "DurableStoreFailed":
      return RpcCode.storeError;
    case "EmbedError":
      return RpcCode.providerError;
    case "ApprovalError":
      return error.reason === "approval_not_found"
        ? RpcCode.notFound
        : error.reason === "invalid_args"
          ? RpcCode.invalidParams
          : RpcCode.notAllowed;
    default:
      return RpcCode.internalError;
  }
};

/**
 * Maps anything a handler failed with to an `RpcFailure`. Runtime errors keep their `reason` and
 * `fault`; a `SpecInvalid`'s problems get their paths rooted at `$.params.spec`. Anything else is
 * Arbor's fault and is reported as an internal error without its stack.
 */
export const toRpcFailure = (error: unknown): RpcFailure => {
  if (error instanceof RpcFailure) return error;
  if (!isTagged(error)) {
    return rpcFailure(
      RpcCode.internalError,
      "internal",
      "arbor",
      "internal error: the server could not answer",
    );
  }
  const code = codeForTag(error);
  if (code === RpcCode.internalError) {
    return rpcFailure(code, "internal", "arbor", `internal error (${error._tag})`);
  }
  const details = detailsOf(error);
  if (error._tag === "SpecInvalid" && Array.isArray(details.problems)) {
    details.problems = (details.problems as ReadonlyArray<{ path: string; message: string }>).map((p) => ({
      path: `$.params.spec${String(p.path).replace(/^\$/, "")}`,
      message: p.message,
    }));
  }
  const message = typeof error.message === "string" && error.message !== "" ? error.message : error._tag;
  return rpcFailure(code, String(error.reason ?? error._tag), faultOf(error, "arbor"), message, {
    error: error._tag,
    ...details,
  });
};
