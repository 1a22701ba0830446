/**
 * The `mcp` section of the runtime config: the MCP servers whose tools agents may use.
 *
 * ```json
 * "mcp": { "servers": {
 *   "everything": { "command": "npx", "args": ["mcp-server-everything"], "env": { "LOG": "1" } },
 *   "remote": { "url": "http://127.0.0.1:3001/mcp", "permissions": { "roles": ["researcher"] } }
 * } }
 * ```
 */
import { Either, ParseResult, Schema } from "effect";
import { PluginError } from "../../../runtime/errors.ts";

const Kind = Schema.Literal("parent", "child", "micro");
const Common = {
  /** Who may call this server's tools (absent: every agent). */
  permissions: Schema.optionalWith(
    Schema.Struct({
      kinds: Schema.optionalWith(Schema.Array(Kind), { exact: true }),
      roles: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
    }),
    { exact: true },
  ),
  /** Per-call timeout for this server's tools. */
  timeoutMs: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.positive()), { exact: true }),
  /** How long the first connection may take before the runtime starts without this server's tools. */
  connectTimeoutMs: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.positive()), { exact: true }),
  /** Backoff between restarts (exponential with jitter). */
  restart: Schema.optionalWith(
    Schema.Struct({
      minMs: Schema.Number.pipe(Schema.int(), Schema.positive()),
      maxMs: Schema.Number.pipe(Schema.int(), Schema.positive()),
    }),
    { exact: true },
  ),
};

/** A server started as a child process speaking MCP over stdio. */
export const StdioServerConfig = Schema.Struct({
  command: Schema.String.pipe(Schema.minLength(1)),
  args: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { exact: true }),
  cwd: Schema.optionalWith(Schema.String, { exact: true }),
  ...Common,
});

/** A server reached over Streamable HTTP. */
export const HttpServerConfig = Schema.Struct({
  url: Schema.String.pipe(Schema.pattern(/^https?:\/\//)),
  headers: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { exact: true }),
  ...Common,
});

/** One server's configuration. */
export type McpServerConfig = typeof StdioServerConfig.Type | typeof HttpServerConfig.Type;

/** The whole `mcp` section. Server names become part of tool names, so they are kept simple. */
export const McpConfig = Schema.Struct({
  servers: Schema.Record({
    key: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]+$/)),
    value: Schema.Union(StdioServerConfig, HttpServerConfig),
  }),
});

/** Reads and validates `config.mcp`; absent means no servers. */
export const readMcpConfig = (
  config: Readonly<Record<string, unknown>>,
): Either.Either<typeof McpConfig.Type, PluginError> => {
  if (config.mcp === undefined) return Either.right({ servers: {} });
  return Schema.decodeUnknownEither(McpConfig, { errors: "all", onExcessProperty: "error" })(config.mcp).pipe(
    Either.mapLeft(
      (error) =>
        new PluginError({
          reason: "setup_failed",
          plugin: "mcp",
          detail: `invalid mcp config: ${ParseResult.TreeFormatter.formatErrorSync(error)}`,
        }),
    ),
  );
};
