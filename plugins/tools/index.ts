/** The tool registry: `defineTool`, the runner, the built-in tools, and the MCP client plugin. */
export { agentTools, handoffTool, sendToAgentTool, spawnAgentTool } from "./builtin/agents.ts";
export { confine, fileTools } from "./builtin/files.ts";
export { defineTool, type ToolOptions, toJsonSchema } from "./define.ts";
export { McpConfig, type McpServerConfig, readMcpConfig } from "./mcp/config.ts";
export { contentToText, type McpConnection, type McpToolInfo, superviseMcpServer } from "./mcp/connection.ts";
export { makeMcpPlugin, mcpPlugin, mcpToolName } from "./mcp/plugin.ts";
export { makeToolsPlugin, type ToolsPluginOptions, toolsPlugin } from "./plugin.ts";
export { makeToolRunner, permitted, type ToolRunnerOptions, truncate } from "./runner.ts";
export {
  makeToolsSection,
  readToolConfig,
  readToolSettings,
  type ToolSettings,
  toolAllowed,
  toolsSection,
} from "./settings.ts";
