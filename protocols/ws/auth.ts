/**
 * Who is connecting. With tokens configured, a bearer token (in `Authorization` or, for browsers,
 * in `Sec-WebSocket-Protocol` as `arbor.bearer.<token>`) names the tenant. Without tokens the server
 * accepts loopback clients only (tenant `local`) and refuses cross-site browser origins, so a web
 * page cannot drive a developer's local server. Tokens are compared in constant time and never logged.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** A token and the tenant it speaks for. */
export interface TenantToken {
  readonly token: string;
  readonly tenant: string;
}

/** The subprotocol prefix browsers use to carry a token: `new WebSocket(url, ["arbor.v1", "arbor.bearer." + token])`. */
export const bearerProtocolPrefix = "arbor.bearer.";
/** The subprotocol the server selects when the client offers it. */
export const arborProtocol = "arbor.v1";
/** The tenant of unauthenticated loopback clients. */
export const localTenant = "local";
/** The tenant of the single `ARBOR_TOKEN` holder. */
const defaultTokenTenant = "default";
/** The operator's tenants: loopback without tokens, and the `ARBOR_TOKEN` holder. They see runtime-wide figures. */
export const operatorTenants: ReadonlySet<string> = new Set([localTenant, defaultTokenTenant]);

/** Outcome of authenticating an upgrade request. */
export type AuthResult =
  | { readonly ok: true; readonly tenant: string }
  | { readonly ok: false; readonly status: 401 | 403; readonly reason: string };

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** Compares two secrets in constant time (hashing first so lengths do not leak either). */
export const safeEqual = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/** Whether a remote address is a loopback address (IPv4 127/8, IPv6 ::1, or IPv4-mapped loopback). */
export const isLoopbackAddress = (address: string | undefined): boolean => {
  if (address === undefined) return false;
  const a = address.startsWith("::ffff:") ? address.slice(7) : address;
  return a === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
};

/** Whether a host name to bind is loopback-only. */
export const isLoopbackHost = (host: string): boolean =>
  host === "localhost" || isLoopbackAddress(host.replace(/^\[|\]$/g, ""));

const isLoopbackOrigin = (origin: string): boolean => {
  try {
    const host = new URL(origin).hostname;
    return isLoopbackHost(host);
  } catch {
    return false;
  }
};

/** The token a request carries, from `Authorization: Bearer …` or an `arbor.bearer.…` subprotocol. */
export const tokenOf = (req: IncomingMessage): string | undefined => {
  const header = req.headers.authorization;
  if (typeof header === "string") {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (match?.[1]) return match[1];
  }
  const protocols = req.headers["sec-websocket-protocol"];
  if (typeof protocols === "string") {
    for (const p of protocols.split(",")) {
      const offered = p.trim();
      if (offered.startsWith(bearerProtocolPrefix)) return offered.slice(bearerProtocolPrefix.length);
    }
  }
  return undefined;
};

/**
 * Decides whether an upgrade may proceed and for which tenant. Every configured token is compared,
 * so the time taken does not reveal which one (if any) matched.
 */
export const authenticate = (req: IncomingMessage, tokens: ReadonlyArray<TenantToken>): AuthResult => {
  if (tokens.length === 0) {
    if (!isLoopbackAddress(req.socket.remoteAddress)) {
      return { ok: false, status: 403, reason: "no token configured: only loopback clients are accepted" };
    }
    const origin = req.headers.origin;
    if (typeof origin === "string" && origin !== "null" && !isLoopbackOrigin(origin)) {
      return {
        ok: false,
        status: 403,
        reason: "cross-site origin refused; configure a token to allow browsers",
      };
    }
    return { ok: true, tenant: localTenant };
  }
  const offered = tokenOf(req);
  if (offered === undefined) return { ok: false, status: 401, reason: "missing bearer token" };
  let tenant: string | undefined;
  for (const candidate of tokens) {
    if (safeEqual(offered, candidate.token) && tenant === undefined) tenant = candidate.tenant;
  }
  return tenant === undefined
    ? { ok: false, status: 401, reason: "invalid bearer token" }
    : { ok: true, tenant };
};

/** Picks the subprotocol to answer with: `arbor.v1` when offered, never the token-carrying one. */
export const selectProtocol = (offered: ReadonlySet<string>): string | false =>
  offered.has(arborProtocol) ? arborProtocol : false;
