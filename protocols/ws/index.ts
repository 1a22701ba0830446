/** The WebSocket JSON-RPC server behind `arbor serve` (see docs/server.md). */
export {
  type AuthResult,
  arborProtocol,
  bearerProtocolPrefix,
  localTenant,
  type TenantToken,
} from "./auth.ts";
export {
  RpcCode,
  type RpcCodeValue,
  type RpcErrorObject,
  RpcFailure,
  rpcFailure,
  toRpcFailure,
} from "./codes.ts";
export {
  type DroppedNotification,
  type EventNotification,
  type MethodName,
  MethodParams,
  type MethodResults,
  NoParams,
  type ParamsOf,
  type ShutdownNotification,
} from "./contract.ts";
export { memoryRpcMethods } from "./extra/memory.ts";
export { findProvidersPlugin, providerMethods } from "./extra/providers.ts";
export type { CallerContext, ExtraMethods, MethodDef } from "./methods.ts";
export {
  type Backpressure,
  defaultServerOptions,
  defaultTenant,
  resolveServerOptions,
  type ServerLimits,
  ServerSection,
  type WsServerOptions,
} from "./options.ts";
export { makeWsServer, ServerStartError, shutdownCloseCode, type WsServer } from "./server.ts";
export { slowConsumerCloseCode } from "./subscriptions.ts";
