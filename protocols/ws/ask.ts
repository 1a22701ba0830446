/**
 * `agent.ask` on the wire. With `stream: true` the step streams and every `agent.delta` of this
 * request is sent to the asking connection as a JSON-RPC notification (`agent.delta {requestId, seq,
 * text}`) before the answer; the texts add up to the answer's `output`. Deltas are already through
 * the agent's output guardrails.
 */
import { randomUUID } from "node:crypto";
import { Effect } from "effect";
import type { ArborEvent } from "../../runtime/events.ts";
import type { AgentSystemService } from "../../runtime/system.ts";
import type { DeltaNotification, MethodResults, ParamsOf } from "./contract.ts";
import { notification } from "./jsonrpc.ts";
import type { CallerContext } from "./methods.ts";

type Delta = Extract<ArborEvent, { type: "agent.delta" }>;

/** Asks for the caller; streams deltas to its connection when it asked for them. */
export const askOn = (
  system: AgentSystemService,
  caller: CallerContext,
  params: ParamsOf<"agent.ask">,
): Effect.Effect<MethodResults["agent.ask"], unknown> => {
  const { to, input, timeoutMs, thread, stream, idempotencyKey } = params;
  // A streamed ask needs an id to match its deltas by; one unique to this ask when the caller gave none.
  const requestId = params.requestId ?? (stream ? `rq_${randomUUID()}` : undefined);
  const ask = system.ask(to, input, {
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
    ...(thread !== undefined ? { thread } : {}),
    ...(stream ? { stream: true } : {}),
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
  });
  const answered = Effect.map(ask, (reply) => ({
    output: reply.output,
    usage: reply.usage,
    ...(reply.traceId !== undefined ? { traceId: reply.traceId } : {}),
  }));
  if (!stream) return answered;
  return Effect.acquireUseRelease(
    Effect.flatMap(system.treeOf(to), (tree) =>
      Effect.sync(() =>
        // A synchronous listener: deltas reach the socket in order and before the answer.
        system.events.listen(
          (event) => {
            if (event.type !== "agent.delta" || event.requestId !== requestId || event.tree !== tree.treeId)
              return;
            const delta = event as Delta;
            const params: DeltaNotification = { requestId, seq: delta.seq, text: delta.text };
            caller.subscriber.send(notification("agent.delta", params));
          },
          { types: ["agent.delta"] },
        ),
      ),
    ),
    () => answered,
    (stop) => Effect.sync(stop),
  );
};
