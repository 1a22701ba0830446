/**
 * The MCP client plugin: every server in `config.mcp.servers` is started (stdio) or connected
 * (Streamable HTTP), and its tools are registered as `mcp.<server>.<tool>` with their JSON Schemas,
 * validated with Ajv before a call goes out. A server that goes away is restarted with backoff;
 * meanwhile its tools are unavailable (hidden from models; a call gets an "unavailable" result).
 */
import type { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import type { JsonSchemaType } from "@modelcontextprotocol/sdk/validation/types.js";
import { Effect, Either } from "effect";
import { definePlugin, type Plugin, type PluginHost } from "../../../runtime/plugin.ts";
import type { ToolDefinition } from "../../../runtime/tool.ts";
import { type McpServerConfig, readMcpConfig } from "./config.ts";
import type { McpConnection, McpToolInfo } from "./connection.ts";

/** The tool name an MCP tool gets in Arbor. */
export const mcpToolName = (server: string, tool: string): string => `mcp.${server}.${tool}`;

const toolDefinition = (
  validator: AjvJsonSchemaValidator,
  connection: McpConnection,
  config: McpServerConfig,
  info: McpToolInfo,
  offered: () => boolean,
): ToolDefinition => {
  let check: ((input: unknown) => { valid: boolean; errorMessage?: string | undefined }) | undefined;
  return {
    name: mcpToolName(connection.name, info.name),
    description: info.description,
    inputSchema: info.inputSchema,
    validate: (args) =>
      Effect.suspend(() => {
        if (check === undefined) {
          try {
            check = validator.getValidator(info.inputSchema as JsonSchemaType);
          } catch {
            // A schema Ajv cannot compile: the server validates the arguments itself.
            check = () => ({ valid: true });
          }
        }
        const verdict = check(args ?? {});
        return verdict.valid
          ? Effect.succeed(args ?? {})
          : Effect.fail(verdict.errorMessage ?? "does not match the schema");
      }),
    run: (args) => connection.callTool(info.name, args),
    available: () => connection.ready() && offered(),
    ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
    ...(config.permissions === undefined ? {} : { permissions: config.permissions }),
  };
};

/** The connections the plugin opened, by server name (for status views and tests). */
export interface McpClients {
  readonly get: (server: string) => McpConnection | undefined;
  readonly names: () => ReadonlyArray<string>;
}

const setupServers = (host: PluginHost, clients: Map<string, McpConnection>) =>
  Effect.gen(function* () {
    const config = yield* Either.match(readMcpConfig(host.config), {
      onLeft: (error) => Effect.fail(error),
      onRight: (value) => Effect.succeed(value),
    });
    if (Object.keys(config.servers).length === 0) return;
    // The MCP SDK and Ajv load only when a server is configured (~0.2 s of CPU at every start).
    const [{ superviseMcpServer }, { AjvJsonSchemaValidator }] = yield* Effect.promise(() =>
      Promise.all([import("./connection.ts"), import("@modelcontextprotocol/sdk/validation/ajv")]),
    );
    const validator = new AjvJsonSchemaValidator();
    yield* Effect.forEach(
      Object.entries(config.servers),
      ([name, server]) =>
        Effect.gen(function* () {
          const registered = new Set<string>();
          let offeredNow = new Set<string>();
          const connection = yield* superviseMcpServer(
            name,
            server,
            (live, tools) =>
              Effect.gen(function* () {
                offeredNow = new Set(tools.map((t) => t.name));
                for (const tool of tools) {
                  if (registered.has(tool.name)) continue;
                  registered.add(tool.name);
                  yield* host
                    .registerTool(
                      toolDefinition(validator, live, server, tool, () => offeredNow.has(tool.name)),
                    )
                    .pipe(Effect.catchAll(() => Effect.void));
                }
              }),
            (state) =>
              host.events.publish(
                state.up
                  ? {
                      type: "mcp.server.up",
                      tree: "",
                      address: "/",
                      id: "",
                      server: name,
                      tools: state.tools,
                      restarts: state.restarts,
                    }
                  : {
                      type: "mcp.server.down",
                      tree: "",
                      address: "/",
                      id: "",
                      server: name,
                      reason: state.reason,
                      retryInMs: state.retryInMs,
                    },
              ),
          );
          clients.set(name, connection);
        }),
      { concurrency: "unbounded", discard: true },
    );
  });

/**
 * Makes the MCP client plugin. `clients` (optional) receives the live connections.
 * Gotcha: the plugin's setup waits for each server's first connection attempt (bounded by
 * `connectTimeoutMs`); a server that is down at start gets its tools registered when it comes up.
 */
export const makeMcpPlugin = (clients: Map<string, McpConnection> = new Map()): Plugin =>
  definePlugin({
    name: "mcp",
    version: "0.1.0",
    setup: (host) => setupServers(host, clients),
  });

/** The MCP client plugin, reading `mcp.servers` from the runtime config. */
export const mcpPlugin: Plugin = makeMcpPlugin();
