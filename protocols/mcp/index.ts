/** The MCP server side: Arbor's tool registry offered to MCP clients over stdio and Streamable HTTP. */
export {
  type McpServeOptions,
  makeMcpHttpHandler,
  makeMcpServer,
  mcpAgent,
  mountMcpHttp,
  serveMcpStdio,
} from "./server.ts";
