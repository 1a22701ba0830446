/**
 * Server options: where to listen, who may connect, and the limits that keep one client from
 * hurting the others. Read from the `server` section of `arbor.config.json` (validated here) and
 * from `ARBOR_TOKEN`; every field has a documented default.
 */

import { Either, Schema } from "effect";
import type { Problem } from "../../runtime/errors.ts";
import { problemsOf } from "../../runtime/problems.ts";
import type { TenantToken } from "./auth.ts";

/** Limits per connection and per tenant. */
export interface ServerLimits {
  /** Largest frame accepted; a bigger one closes the connection with 1009. */
  readonly maxPayloadBytes: number;
  /** Deepest nesting of objects and arrays in a request's params; deeper gets -32602 (`too_deep`). */
  readonly maxNesting: number;
  /** Most requests in one batch frame. */
  readonly maxBatch: number;
  /** Most requests one connection may have running at once; more get `overloaded`. */
  readonly maxInFlight: number;
  /** Sustained requests per second per connection, and the burst allowed above it; more get `rate_limited`. */
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  /** Most event subscriptions per connection. */
  readonly maxSubscriptions: number;
  /** Most running trees and live agents per tenant; spawning past them gets `not_allowed` (limit). */
  readonly maxTreesPerTenant: number;
  readonly maxAgentsPerTenant: number;
}

/** How slow event subscribers are treated. */
export interface Backpressure {
  /** Above this many bytes buffered on a socket, events for it are dropped (and counted). */
  readonly highWaterBytes: number;
  /** After this many events dropped in a row the subscriber is hopeless and is closed with 4008. */
  readonly maxDroppedEvents: number;
}

/** Everything `makeWsServer` needs besides the runtime. */
export interface WsServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly path: string;
  /** Empty: loopback clients only, and binding a non-loopback host is refused. */
  readonly tokens: ReadonlyArray<TenantToken>;
  readonly limits: ServerLimits;
  readonly backpressure: Backpressure;
  /** How long shutdown waits for in-flight requests before failing them with `shutting_down`. */
  readonly shutdownGraceMs: number;
  /** Every tree spawned is durable unless its spec says `"durable": false` (needs memory on). */
  readonly durableTrees: boolean;
}

/** The defaults `arbor serve` runs with. */
export const defaultServerOptions: WsServerOptions = {
  host: "127.0.0.1",
  port: 7420,
  path: "/rpc",
  tokens: [],
  limits: {
    maxPayloadBytes: 1024 * 1024,
    maxNesting: 128,
    maxBatch: 100,
    maxInFlight: 64,
    ratePerSecond: 500,
    rateBurst: 1000,
    maxSubscriptions: 32,
    maxTreesPerTenant: 100,
    maxAgentsPerTenant: 10_000,
  },
  backpressure: { highWaterBytes: 1024 * 1024, maxDroppedEvents: 10_000 },
  shutdownGraceMs: 5_000,
  durableTrees: false,
};

const Positive = Schema.Int.pipe(Schema.positive());
const Port = Schema.Int.pipe(Schema.between(0, 65_535));
const Secret = Schema.String.pipe(
  Schema.minLength(16, { message: () => "a token needs at least 16 characters" }),
);

/** The `server` section of `arbor.config.json`. */
export const ServerSection = Schema.Struct({
  host: Schema.optional(Schema.String),
  port: Schema.optional(Port),
  path: Schema.optional(Schema.String.pipe(Schema.startsWith("/"))),
  token: Schema.optional(Secret),
  tokens: Schema.optional(Schema.Array(Schema.Struct({ token: Secret, tenant: Schema.NonEmptyString }))),
  limits: Schema.optional(
    Schema.partial(Schema.Struct(mapValues(defaultServerOptions.limits, () => Positive))),
  ),
  backpressure: Schema.optional(
    Schema.partial(Schema.Struct({ highWaterBytes: Positive, maxDroppedEvents: Positive })),
  ),
  shutdownGraceMs: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  durableTrees: Schema.optional(Schema.Boolean),
});

function mapValues<K extends string, B>(record: Record<K, unknown>, f: () => B): Record<K, B> {
  return Object.fromEntries(Object.keys(record).map((k) => [k, f()])) as Record<K, B>;
}

/** Tenant of the single token given by `ARBOR_TOKEN` or `server.token`. */
export const defaultTenant = "default";

/**
 * Resolves server options from the config file's `server` section, the environment
 * (`ARBOR_TOKEN`) and command-line overrides (highest precedence). Returns the problems found
 * instead of options when the section is invalid.
 */
export const resolveServerOptions = (
  section: unknown,
  env: Readonly<Record<string, string | undefined>>,
  overrides: Partial<Pick<WsServerOptions, "host" | "port">> = {},
): Either.Either<WsServerOptions, ReadonlyArray<Problem>> => {
  const decoded = Schema.decodeUnknownEither(ServerSection, { errors: "all", onExcessProperty: "error" })(
    section ?? {},
  );
  if (Either.isLeft(decoded)) {
    return Either.left(problemsOf(decoded.left, { root: "$.server", unknownKey: "unknown setting" }));
  }
  const s = decoded.right;
  if (env.ARBOR_TOKEN !== undefined && env.ARBOR_TOKEN !== "" && env.ARBOR_TOKEN.length < 16) {
    return Either.left([{ path: "ARBOR_TOKEN", message: "a token needs at least 16 characters" }]);
  }
  const tokens: Array<TenantToken> = [...(s.tokens ?? [])];
  const single = env.ARBOR_TOKEN ?? s.token;
  if (single !== undefined && single !== "") tokens.push({ token: single, tenant: defaultTenant });
  return Either.right({
    host: overrides.host ?? s.host ?? defaultServerOptions.host,
    port: overrides.port ?? s.port ?? defaultServerOptions.port,
    path: s.path ?? defaultServerOptions.path,
    tokens,
    limits: { ...defaultServerOptions.limits, ...s.limits },
    backpressure: { ...defaultServerOptions.backpressure, ...s.backpressure },
    shutdownGraceMs: s.shutdownGraceMs ?? defaultServerOptions.shutdownGraceMs,
    durableTrees: s.durableTrees ?? defaultServerOptions.durableTrees,
  });
};
