/**
 * The deltas of a streaming step: raw text from the model goes in; `agent.delta` events come out,
 * coalesced (every ~30 ms or 64 characters) and already through the output guardrails.
 *
 * Redacting a stream: the text written so far is checked as a whole, and only the part that more text
 * can no longer change is sent — everything but a held-back tail (the last `holdBackChars`
 * characters, stretched back to the start of the last word, and to an unfinished `-----BEGIN` block).
 * A PII pattern shorter than the tail is therefore never sent half-written, even when the model
 * writes it across two deltas. The cost is latency: a client sees the text about one tail behind
 * the model, and the tail itself only when the step ends.
 */
import { Effect } from "effect";
import type { AgentCell } from "./cell.ts";

/** Characters always held back from the client until more text (or the end) shows what they are. */
export const holdBackChars = 48;
/** A delta is sent once this many characters are ready … */
export const coalesceChars = 64;
/** … or once this long has passed since the last one. */
export const coalesceMs = 30;

/** Writes one request's deltas. */
export interface DeltaWriter {
  /** Adds raw model text. */
  readonly push: (text: string) => Effect.Effect<void>;
  /**
   * The step ended with `output` (the guarded answer): sends what is left of it and returns the
   * reply, which equals the concatenation of every delta sent.
   */
  readonly finish: (output: string) => Effect.Effect<string>;
}

/** Where the held-back tail starts in `text`. */
export const safeLength = (text: string): number => {
  let cut = Math.max(0, text.length - holdBackChars);
  while (cut > 0 && !/\s/.test(text[cut - 1]!)) cut--;
  const begin = text.lastIndexOf("-----BEGIN");
  if (begin !== -1 && begin < cut && !text.includes("-----END", begin)) cut = begin;
  return cut;
};

/** Makes the writer of request `requestId` of `cell`. */
export const makeDeltaWriter = (cell: AgentCell, requestId: string): DeltaWriter => {
  const { services } = cell.tree;
  let raw = "";
  let sent = "";
  let seq = 0;
  let lastSentAt = cell.tree.now();
  /** A preview was blocked: nothing more is sent before the step's own check decides. */
  let blocked = false;

  const emit = (text: string) => {
    if (text.length === 0) return;
    sent += text;
    lastSentAt = cell.tree.now();
    cell.tree.events.publishSync({
      type: "agent.delta",
      tree: cell.treeId,
      address: cell.address,
      id: cell.id,
      requestId,
      seq: seq++,
      text,
    });
  };

  /** The guarded text up to the safe point, without events (the step's final check publishes them). */
  const preview = (upTo: number) =>
    services
      .guardrails()
      .check({
        stage: "output",
        text: raw.slice(0, upTo),
        agent: cell.info,
        destination: "local",
        quiet: true,
      })
      .pipe(Effect.option);

  return {
    push: (text) =>
      Effect.gen(function* () {
        raw += text;
        if (blocked) return;
        const safe = safeLength(raw);
        const due = cell.tree.now() - lastSentAt >= coalesceMs;
        if (safe - sent.length < coalesceChars && !(due && safe > sent.length)) return;
        const guarded = yield* preview(safe);
        if (guarded._tag === "None") {
          blocked = true;
          return;
        }
        // A redaction that reached back into text already sent cannot be taken back: hold instead.
        if (guarded.value.startsWith(sent)) emit(guarded.value.slice(sent.length));
      }),
    finish: (output) =>
      Effect.sync(() => {
        if (output.startsWith(sent)) emit(output.slice(sent.length));
        return output;
      }),
  };
};
