/**
 * The streaming and approval pieces of `createArbor`: `stream` reads the ask's `agent.delta` events
 * from the runtime's event bus (in order, synchronously) into an async iterable.
 */
import { randomUUID } from "node:crypto";
import { Effect, Exit } from "effect";
import type { ArborRuntime } from "../runtime/agent-system.ts";
import type { ApprovalDecisionInput, ApprovalEntry } from "../runtime/approvals.ts";
import type { AskOptions } from "../runtime/system.ts";
import { makePartQueue, type StreamPart } from "./stream-parts.ts";

/** What `onApproval`'s handler gets (the full entry: this is the operator's own process) and may return. */
export type EmbeddedApprovalHandler = (
  approval: ApprovalEntry,
) => ApprovalDecisionInput | undefined | Promise<ApprovalDecisionInput | undefined>;

/** Asks `to` with `stream: true`; the iterable yields the deltas, then the result. */
export const streamAsk = (
  runtime: ArborRuntime,
  to: string,
  input: string,
  options: Omit<AskOptions, "stream">,
): AsyncIterable<StreamPart> => {
  const requestId = options.requestId ?? `rq_${randomUUID()}`;
  const queue = makePartQueue();
  const stop = runtime.events.listen(
    (event) => {
      if (event.type === "agent.delta" && event.requestId === requestId)
        queue.push({ type: "delta", seq: event.seq, text: event.text });
    },
    { types: ["agent.delta"] },
  );
  void Effect.runPromiseExit(runtime.ask(to, input, { ...options, requestId, stream: true })).then((exit) => {
    stop();
    if (Exit.isSuccess(exit))
      queue.push({ type: "result", output: exit.value.output, usage: exit.value.usage });
    else queue.fail(exit.cause._tag === "Fail" ? exit.cause.error : new Error(String(exit.cause)));
  });
  return queue.iterable;
};
