/**
 * One supervised connection to an MCP server (stdio child process or Streamable HTTP). A fiber in
 * the plugin's scope connects, lists the server's tools, waits for the connection to close, and
 * reconnects with exponential backoff and jitter (Effect Clock and Random, so TestClock drives it).
 * While it is down, `callTool` fails with "unavailable" and `ready()` is false.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { Deferred, Duration, Effect, Exit, Random, Runtime, type Scope } from "effect";
import type { McpServerConfig } from "./config.ts";

/** A tool as the server describes it. */
export interface McpToolInfo {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Readonly<Record<string, unknown>>;
}

/** The live view of one server. */
export interface McpConnection {
  readonly name: string;
  readonly ready: () => boolean;
  /** Restarts so far (each lost connection counts once). */
  readonly restarts: () => number;
  /** The process id of a stdio server while it runs (for operators and fault drills). */
  readonly pid: () => number | undefined;
  readonly callTool: (tool: string, args: unknown) => Effect.Effect<string, string>;
}

/** Called after every (re)connection with the tools the server offers now. */
/** A server came up (with its tools) or went down (and when it is tried again). */
export type McpServerState =
  | { readonly up: true; readonly tools: number; readonly restarts: number }
  | { readonly up: false; readonly reason: string; readonly retryInMs: number };

export type OnTools = (
  connection: McpConnection,
  tools: ReadonlyArray<McpToolInfo>,
) => Effect.Effect<void, never, Scope.Scope>;

interface Live {
  readonly client: Client;
  readonly transport: Transport;
  readonly closed: Deferred.Deferred<void>;
}

const transportFor = (config: McpServerConfig): Transport =>
  "command" in config
    ? new StdioClientTransport({
        command: config.command,
        args: [...(config.args ?? [])],
        env: { ...getDefaultEnvironment(), ...(config.env ?? {}) },
        stderr: "ignore",
        ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
      })
    : new StreamableHTTPClientTransport(new URL(config.url), {
        requestInit: { headers: { ...(config.headers ?? {}) } },
      });

/** Renders an MCP tool result's content blocks as text for the model. */
export const contentToText = (content: ReadonlyArray<Record<string, unknown>>): string =>
  content
    .map((block) => {
      if (block.type === "text") return String(block.text);
      if (block.type === "image" || block.type === "audio")
        return `[${block.type}: ${String(block.mimeType)}]`;
      if (block.type === "resource") {
        const resource = block.resource as { text?: string; uri?: string } | undefined;
        return resource?.text ?? `[resource: ${resource?.uri ?? "?"}]`;
      }
      if (block.type === "resource_link") return `[resource link: ${String(block.uri)}]`;
      return JSON.stringify(block);
    })
    .join("\n");

/** Every tool the server offers now, page by page. */
const listTools = (client: Client, name: string) =>
  Effect.gen(function* () {
    const tools: McpToolInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = yield* Effect.tryPromise({
        try: () => client.listTools(cursor === undefined ? {} : { cursor }),
        catch: (error) =>
          `cannot list tools of ${name}: ${error instanceof Error ? error.message : String(error)}`,
      });
      for (const tool of page.tools)
        tools.push({
          name: tool.name,
          description: tool.description ?? tool.title ?? "",
          inputSchema: tool.inputSchema as Record<string, unknown>,
        });
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return tools as ReadonlyArray<McpToolInfo>;
  });

const connect = (name: string, config: McpServerConfig) =>
  Effect.gen(function* () {
    const closed = yield* Deferred.make<void>();
    const client = new Client({ name: "arbor", version: "0.1.0" });
    client.onclose = () => Deferred.unsafeDone(closed, Exit.void);
    client.onerror = () => {}; // transport errors surface as a closed connection or a failed call
    const transport = transportFor(config);
    yield* Effect.tryPromise({
      try: () => client.connect(transport),
      catch: (error) =>
        `cannot connect to MCP server ${name}: ${error instanceof Error ? error.message : String(error)}`,
    }).pipe(Effect.onError(() => Effect.promise(() => client.close().catch(() => undefined))));
    const tools = yield* listTools(client, name);
    return { live: { client, transport, closed } satisfies Live, tools };
  });

/**
 * Starts the supervising fiber in the current scope and waits for the first attempt to end (or
 * `connectTimeoutMs`, default 15 s). Closing the scope closes the connection and stops restarts.
 */
export const superviseMcpServer = (
  name: string,
  config: McpServerConfig,
  onTools: OnTools,
  onState: (state: McpServerState) => Effect.Effect<void> = () => Effect.void,
): Effect.Effect<McpConnection, never, Scope.Scope> =>
  Effect.gen(function* () {
    let current: Live | undefined;
    let restarts = 0;
    let stopping = false;
    const firstAttempt = yield* Deferred.make<void>();
    const minMs = config.restart?.minMs ?? 250;
    const maxMs = config.restart?.maxMs ?? 30_000;

    const connection: McpConnection = {
      name,
      ready: () => current !== undefined,
      restarts: () => restarts,
      pid: () => {
        const transport = current?.transport;
        return transport instanceof StdioClientTransport ? (transport.pid ?? undefined) : undefined;
      },
      callTool: (tool, args) =>
        Effect.suspend(() => {
          const live = current;
          if (live === undefined)
            return Effect.fail(`MCP server ${name} is unavailable right now (restarting); try later`);
          return Effect.tryPromise({
            try: (signal) =>
              live.client.callTool(
                { name: tool, arguments: (args ?? {}) as Record<string, unknown> },
                undefined,
                { signal },
              ),
            catch: (error) => `MCP server ${name}: ${error instanceof Error ? error.message : String(error)}`,
          }).pipe(
            Effect.flatMap((result) => {
              const content = Array.isArray(result.content)
                ? (result.content as Record<string, unknown>[])
                : [];
              const text =
                content.length > 0
                  ? contentToText(content)
                  : JSON.stringify(result.structuredContent ?? result);
              return result.isError ? Effect.fail(text) : Effect.succeed(text);
            }),
          );
        }),
    };

    const loop = Effect.gen(function* () {
      let attempt = 0;
      for (;;) {
        const result = yield* Effect.either(connect(name, config));
        let reason: string;
        if (result._tag === "Right") {
          attempt = 0;
          current = result.right.live;
          // The server may change its tools while connected (notifications/tools/list_changed).
          const client = result.right.live.client;
          const runtime = yield* Effect.runtime<Scope.Scope>();
          client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
            Runtime.runFork(runtime)(
              listTools(client, name).pipe(
                Effect.flatMap((tools) => onTools(connection, tools)),
                Effect.catchAll(() => Effect.void), // the next reconnect lists them again
              ),
            );
          });
          yield* onTools(connection, result.right.tools);
          yield* onState({ up: true, tools: result.right.tools.length, restarts });
          yield* Deferred.succeed(firstAttempt, undefined);
          yield* Deferred.await(result.right.live.closed);
          current = undefined;
          if (stopping) return;
          restarts++;
          reason = "the server exited or closed the connection";
        } else {
          yield* Deferred.succeed(firstAttempt, undefined);
          reason = String(result.left);
        }
        const ceiling = Math.min(maxMs, minMs * 2 ** attempt);
        const delay = ceiling / 2 + (yield* Random.nextRange(0, ceiling / 2));
        attempt++;
        yield* onState({ up: false, reason, retryInMs: Math.round(delay) });
        yield* Effect.sleep(Duration.millis(delay));
      }
    });

    yield* Effect.forkScoped(loop);
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        stopping = true;
        await current?.client.close().catch(() => undefined);
      }),
    );
    yield* Deferred.await(firstAttempt).pipe(
      Effect.timeoutOption(Duration.millis(config.connectTimeoutMs ?? 15_000)),
    );

    return connection;
  });
