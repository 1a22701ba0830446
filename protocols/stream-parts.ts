/**
 * What `stream(address, input)` yields, on `createArbor` and on the typed client: the answer's
 * deltas as they are written, then the result (whose `output` equals the deltas' texts joined).
 * A failed ask rejects the iteration with the same typed error `ask` rejects with.
 */
import type { Usage } from "../runtime/model.ts";

/** One part of a streamed answer. */
export type StreamPart =
  | { readonly type: "delta"; readonly seq: number; readonly text: string }
  | { readonly type: "result"; readonly output: string; readonly usage: Usage };

/** A push-side queue and the async iterable that reads it (parts are kept until read). */
export interface PartQueue {
  readonly push: (part: StreamPart) => void;
  readonly fail: (error: unknown) => void;
  readonly iterable: AsyncIterable<StreamPart>;
}

/** Makes the queue; the iteration ends after the `result` part. */
export const makePartQueue = (): PartQueue => {
  const parts: StreamPart[] = [];
  let failure: { readonly error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  async function* read(): AsyncGenerator<StreamPart> {
    for (;;) {
      const part = parts.shift();
      if (part !== undefined) {
        yield part;
        if (part.type === "result") return;
        continue;
      }
      if (failure) throw failure.error;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  }
  return {
    push: (part) => {
      parts.push(part);
      notify();
    },
    fail: (error) => {
      failure = { error };
      notify();
    },
    iterable: { [Symbol.asyncIterator]: read },
  };
};
