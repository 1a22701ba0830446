/**
 * Arbor's public API. Effect users: `makeAgentSystem` / `layerAgentSystem` and the `AgentSystem`
 * service. Everyone else: `createArbor()`, a Promise face of the same runtime.
 */

export {
  builtinRolesFolder,
  loadRoles,
  makeRolesPlugin,
  type PromptStyle,
  type RoleDefinition,
  rolesPlugin,
} from "./agents/roles/index.ts";
export {
  type BuilderStep,
  type Condition,
  NoWorkflow,
  runWorkflow,
  type StepOutcome,
  type StepSpec,
  validateWorkflow,
  WorkflowBuilder,
  type WorkflowResult,
  WorkflowSpec,
  workflow,
  workflowsPlugin,
} from "./agents/workflow/index.ts";
export { layerKnowledge } from "./knowledge/config.ts";
export { makeSqlDurableStore } from "./knowledge/durable-store-sql.ts";
export { memoryPlugin } from "./knowledge/tools.ts";
export { guardrailsPlugin } from "./plugins/guardrails/plugin.ts";
export { builtinHandlersPlugin } from "./plugins/handlers/builtin.ts";
export { providersPlugin } from "./plugins/providers/plugin.ts";
export { makeScriptedProvider, scriptedPlugin } from "./plugins/providers/scripted.ts";
export { defineTool } from "./plugins/tools/define.ts";
export { mcpPlugin } from "./plugins/tools/mcp/plugin.ts";
export { makeToolsPlugin, toolsPlugin } from "./plugins/tools/plugin.ts";
export {
  type ArgsOf,
  type JsonSchemaObject,
  type PromiseToolOptions,
  type StandardSchema,
  type ToolCallContext,
  tool,
} from "./plugins/tools/tool.ts";
export { tripwiresPlugin } from "./plugins/tripwires/plugin.ts";
export {
  type ApprovalHandler,
  type ApprovalRequested,
  type ApprovalSummary,
  ArborClient,
  ConnectionClosed,
  RpcError,
} from "./protocols/client/index.ts";
export {
  type Arbor,
  type ArborConfig,
  type ArborOptions,
  type ArborRunOptions,
  type ArborSpawnOptions,
  type ArborTreeSpec,
  createArbor,
} from "./protocols/embedded.ts";
export type { EmbeddedApprovalHandler } from "./protocols/embedded-stream.ts";
export { defaultPlugins } from "./protocols/preset.ts";
export type { StreamPart } from "./protocols/stream-parts.ts";
export { startTelemetry, type Telemetry, TelemetryConfigError } from "./protocols/telemetry.ts";
export { makeWsServer, type WsServer } from "./protocols/ws/server.ts";
export type { AgentInfo } from "./runtime/agent-info.ts";
export {
  type AgentSystemOptions,
  type ArborRuntime,
  layerAgentSystem,
  makeAgentSystem,
} from "./runtime/agent-system.ts";
export {
  type ApprovalDecision,
  type ApprovalDecisionInput,
  type ApprovalEntry,
  ApprovalError,
  type Approvals,
  approvalIdOf,
} from "./runtime/approvals.ts";
export type { AnyPlugin, AsyncPluginHost, Cleanup } from "./runtime/async-plugin.ts";
export { ConfigError, loadConfig } from "./runtime/config.ts";
export type { ResumeReport } from "./runtime/durable/resume.ts";
export {
  type DurableBatch,
  type DurableStore,
  DurableStoreFailed,
  type DurableTreeRecord,
  type JournalEntry,
  type StoredAnswer,
  type StoredTree,
} from "./runtime/durable/store.ts";
export * from "./runtime/errors.ts";
export type { AgentKind, ArborEvent, ArborEventType, EventBus } from "./runtime/events.ts";
export type { Guardrail, GuardrailRunner, GuardrailVerdict } from "./runtime/guardrail.ts";
export { GuardrailViolation } from "./runtime/guardrail.ts";
export type {
  ChatMessage,
  ModelChoice,
  ModelProvider,
  ModelRequest,
  ModelResponse,
  ModelRouter,
  ToolCall,
} from "./runtime/model.ts";
export { ProviderError } from "./runtime/model.ts";
export { definePlugin, type MicroHandler, type Plugin, type PluginHost } from "./runtime/plugin.ts";
export { type RunOptions, type RunSummary, runTree } from "./runtime/run.ts";
export type { AgentSpec, TreeSpec } from "./runtime/spec/schema.ts";
export {
  type AgentNode,
  AgentSystem,
  type AgentSystemService,
  type AskOptions,
  type HistoryMessage,
  type Reply,
  type TreeHandle,
} from "./runtime/system.ts";
export type { NeedsApproval, ToolDefinition, ToolRunner } from "./runtime/tool.ts";
export { currentSpan, tracingActive, withSpan } from "./runtime/tracing.ts";
export type { TripwireMonitor } from "./runtime/tripwire.ts";
export { TripwireTripped } from "./runtime/tripwire.ts";
