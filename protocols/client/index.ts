/** The typed client for `arbor serve` (see docs/server.md). */

export type { StreamPart } from "../stream-parts.ts";
export type {
  ApprovalSummary,
  DeltaNotification,
  DroppedNotification,
  EventNotification,
  MethodName,
  MethodResults,
  ParamsOf,
} from "../ws/contract.ts";
export type { ApprovalHandler, ApprovalRequested } from "./approvals.ts";
export {
  ArborClient,
  type CallParams,
  type ConnectOptions,
  type SubscribeOptions,
  type Subscription,
} from "./client.ts";
export { ConnectionClosed, RpcError } from "./errors.ts";
