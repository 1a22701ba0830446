/**
 * `ArborClient.stream`: an `agent.ask` with `stream: true` whose `agent.delta` notifications (matched
 * by request id) become the parts of an async iterable, ending with the result.
 */
import { makePartQueue, type StreamPart } from "../stream-parts.ts";
import type { DeltaNotification, MethodResults, ParamsOf } from "../ws/contract.ts";

/** The client's table of streamed asks in flight: where each request's deltas go. */
export class DeltaRoutes {
  private readonly routes = new Map<string, (delta: DeltaNotification) => void>();
  private next = 0;

  /** A request id unique to this client. */
  newRequestId(): string {
    return `rq_client_${Date.now().toString(36)}_${(this.next++).toString(36)}`;
  }

  /** Hands an `agent.delta` notification to its ask (ignored once the ask has ended). */
  dispatch(delta: DeltaNotification): void {
    this.routes.get(delta.requestId)?.(delta);
  }

  /** Starts a streamed ask through `call` and returns its parts. */
  stream(
    call: (params: ParamsOf<"agent.ask">) => Promise<MethodResults["agent.ask"]>,
    params: Omit<ParamsOf<"agent.ask">, "stream">,
  ): AsyncIterable<StreamPart> {
    const requestId = params.requestId ?? this.newRequestId();
    const queue = makePartQueue();
    this.routes.set(requestId, (d) => queue.push({ type: "delta", seq: d.seq, text: d.text }));
    call({ ...params, requestId, stream: true }).then(
      (result) => {
        this.routes.delete(requestId);
        queue.push({ type: "result", output: result.output, usage: result.usage });
      },
      (error: unknown) => {
        this.routes.delete(requestId);
        queue.fail(error);
      },
    );
    return queue.iterable;
  }
}
