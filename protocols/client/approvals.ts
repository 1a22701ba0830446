/**
 * `onApproval` for the typed client: a subscription to `approval.requested` in the client's tenant
 * that hands each request to a handler and sends the decision it returns.
 */
import type { ArborEvent } from "../../runtime/events.ts";
import type { ParamsOf } from "../ws/contract.ts";
import type { ArborClient } from "./client.ts";

/** An approval request as the handler sees it (arguments guardrail-redacted). */
export type ApprovalRequested = Extract<ArborEvent, { type: "approval.requested" }>;

/** What a handler decides; `undefined` leaves the request for someone else (or the timeout). */
export type ApprovalHandler = (
  request: ApprovalRequested,
) =>
  | Omit<ParamsOf<"approval.decide">, "approvalId">
  | undefined
  | Promise<Omit<ParamsOf<"approval.decide">, "approvalId"> | undefined>;

/** Subscribes `handler`; resolves with the unsubscribe function. */
export const watchApprovals = async (
  client: ArborClient,
  handler: ApprovalHandler,
): Promise<() => Promise<void>> => {
  const subscription = await client.subscribe({ types: ["approval.requested"] }, (event) => {
    if (event.type !== "approval.requested") return;
    void Promise.resolve(handler(event))
      .then((decision) => (decision ? client.decide(event.approvalId, decision) : undefined))
      // Decided elsewhere first, or the connection closed: nothing for this handler to do.
      .catch(() => {});
  });
  return subscription.unsubscribe;
};
