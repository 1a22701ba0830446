/**
 * The MCP server side: Arbor's tool registry offered to MCP clients, over stdio (`arbor mcp`) or
 * Streamable HTTP (mounted on a Node http server). Clients see and call exactly the tools a
 * configured agent may use (its kind, role and `tools` settings), through the same `ToolRunner`
 * the agent step uses, so permissions, validation, guardrails, timeouts and events all apply.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { Deferred, Effect, Exit, Runtime, type Scope } from "effect";
import type { AgentInfo } from "../../runtime/agent-info.ts";
import type { AgentKind } from "../../runtime/events.ts";
import type { AgentOps, ToolRunner } from "../../runtime/tool.ts";

/** What the MCP server offers, and as whom. */
export interface McpServeOptions {
  /** The runtime's tool runner (`AgentSystem.tools`). */
  readonly tools: ToolRunner;
  /** The agent whose permissions MCP clients get; see `mcpAgent`. */
  readonly agent: AgentInfo;
  /** What `spawn_agent` / `send_to_agent` / `handoff` do when an MCP client calls them. */
  readonly ops: AgentOps;
  readonly name?: string;
  readonly version?: string;
}

/**
 * The agent identity MCP clients act as. Gotcha: the default kind is `child` with no role, so tools
 * restricted to roles stay hidden until the operator names a role (`arbor mcp --role …`).
 */
export const mcpAgent = (options: {
  readonly kind?: AgentKind;
  readonly role?: string;
  readonly settings?: Readonly<Record<string, unknown>>;
}): AgentInfo => ({
  tree: "",
  treeId: "",
  address: "/mcp",
  id: "mcp",
  name: "mcp",
  kind: options.kind ?? "child",
  depth: 0,
  settings: options.settings ?? {},
  ...(options.role === undefined ? {} : { role: options.role }),
});

let callCounter = 0;

/** Makes one SDK server answering `tools/list` and `tools/call` from the tool runner. */
export const makeMcpServer = (options: McpServeOptions, runtime: Runtime.Runtime<never>): McpServer => {
  const server = new McpServer({ name: options.name ?? "arbor", version: options.version ?? "0.1.0" });
  server.server.registerCapabilities({ tools: { listChanged: false } });
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: options.tools.visible(options.agent).map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: { type: "object" as const, ...tool.inputSchema },
    })),
  }));
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const call = {
      id: `mcp-${++callCounter}`,
      name: request.params.name,
      args: request.params.arguments ?? {},
    };
    const result = await Runtime.runPromise(runtime)(
      options.tools.call(call, { agent: options.agent, ops: options.ops }),
      { signal: extra.signal },
    );
    return { content: [{ type: "text" as const, text: result.content }], isError: !result.ok };
  });
  return server;
};

/**
 * Serves MCP over stdio (what `arbor mcp` runs). Returns once connected; `closed` completes when the
 * client goes away. Closing the scope closes the connection. Gotcha: stdout belongs to the protocol,
 * so nothing else may print to it while this runs (log to stderr).
 */
export const serveMcpStdio = (
  options: McpServeOptions,
  streams: { readonly stdin?: NodeJS.ReadableStream; readonly stdout?: NodeJS.WritableStream } = {},
): Effect.Effect<{ readonly closed: Effect.Effect<void> }, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>();
    const server = makeMcpServer(options, runtime);
    const closed = yield* Deferred.make<void>();
    const transport = new StdioServerTransport(
      streams.stdin as ConstructorParameters<typeof StdioServerTransport>[0],
      streams.stdout as ConstructorParameters<typeof StdioServerTransport>[1],
    );
    transport.onclose = () => Deferred.unsafeDone(closed, Exit.void);
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => server.connect(transport),
        catch: (error) => new Error(`cannot serve MCP over stdio: ${String(error)}`),
      }),
      () => Effect.promise(() => server.close().catch(() => undefined)),
    );
    return { closed: Deferred.await(closed) };
  });

const MAX_BODY_BYTES = 4 * 1024 * 1024;

const readJson = (req: IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("request body too large"));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        reject(new Error("request body is not JSON"));
      }
    });
    req.on("error", reject);
  });

const jsonRpcError = (res: ServerResponse, status: number, code: number, message: string) => {
  res
    .writeHead(status, { "content-type": "application/json" })
    .end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
};

/**
 * An http request handler for MCP over Streamable HTTP in stateless mode (each POST gets a fresh
 * server and transport; tools need no session). Resolves `true` when it answered the request,
 * `false` when the path is not `path` (so the caller's own routing can go on).
 */
export const makeMcpHttpHandler = (
  options: McpServeOptions & { readonly path?: string },
  runtime: Runtime.Runtime<never>,
) => {
  const path = options.path ?? "/mcp";
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== path) return false;
    if (req.method !== "POST") {
      jsonRpcError(res, 405, -32000, "method not allowed: this MCP endpoint is stateless, use POST");
      return true;
    }
    let body: unknown;
    try {
      body = await readJson(req);
    } catch (error) {
      jsonRpcError(res, 400, -32700, error instanceof Error ? error.message : String(error));
      return true;
    }
    const server = makeMcpServer(options, runtime);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    return true;
  };
};

/**
 * Mounts MCP over Streamable HTTP at `path` (default `/mcp`) on an existing Node http server, for
 * as long as the scope is open. Gotcha: the server's other request listeners still see requests
 * to `path`; they must leave them alone (or compose `makeMcpHttpHandler` into their own routing).
 */
export const mountMcpHttp = (
  server: HttpServer,
  options: McpServeOptions & { readonly path?: string },
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>();
    const handle = makeMcpHttpHandler(options, runtime);
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) jsonRpcError(res, 500, -32603, `internal error: ${String(error)}`);
      });
    };
    yield* Effect.acquireRelease(
      Effect.sync(() => server.on("request", listener)),
      () => Effect.sync(() => server.off("request", listener)),
    );
  });
