/**
 * Streaming over a real server: `agent.ask` with `stream: true` on a streaming scripted step sends
 * `agent.delta` notifications to the asking connection, in order and before the answer; the answer
 * is the deltas joined; an email the model writes across two deltas arrives redacted and no delta
 * holds a piece of it. The typed client's and `createArbor`'s `stream` yield the same.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createArbor } from "../../index.ts";
import { ArborClient } from "../../protocols/client/index.ts";
import type { StreamPart } from "../../protocols/stream-parts.ts";
import { openRaw } from "./harness.ts";
import { type RunningRuntime, startRuntimeServer } from "./runtime.ts";

/** What the model writes, piece by piece: the email is split between two pieces. */
const pieces = [
  "Thanks for asking. ",
  "The release notes are ready and the build is green on every platform we support. ",
  "For access to the staging server write to ops.team@exa",
  "mple.com and mention the ticket number. ",
  "Deploys happen on Tuesdays after the review meeting, so plan for that.",
];
const written = pieces.join("");

const spec = (name: string) => ({
  name,
  root: {
    name: "talker",
    kind: "child",
    guardrails: { pii: "always" },
    model: { provider: "scripted", script: [{ stream: pieces, delayMs: 20 }] },
  },
});

let running: RunningRuntime;
beforeAll(async () => {
  running = await startRuntimeServer();
});
afterAll(async () => {
  await running.close();
});

describe("agent.ask with stream: true", () => {
  it("sends the deltas in order before the result; the result is their concatenation, redacted", async () => {
    const raw = await openRaw(running.url);
    try {
      raw.send({ jsonrpc: "2.0", id: 1, method: "tree.spawn", params: { spec: spec("stream-raw") } });
      const spawned = (await raw.next()) as { result: { root: string } };
      raw.send({
        jsonrpc: "2.0",
        id: 2,
        method: "agent.ask",
        params: { to: spawned.result.root, input: "how do I get access?", stream: true, requestId: "r-1" },
      });
      const deltas: Array<{ requestId: string; seq: number; text: string }> = [];
      let result: { output: string } | undefined;
      while (result === undefined) {
        const frame = (await raw.next()) as {
          method?: string;
          params?: { requestId: string; seq: number; text: string };
          id?: number;
          result?: { output: string };
        };
        if (frame.method === "agent.delta") deltas.push(frame.params!);
        else if (frame.id === 2) result = frame.result;
      }
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.map((d) => d.seq)).toEqual(deltas.map((_, i) => i));
      expect(deltas.every((d) => d.requestId === "r-1")).toBe(true);
      expect(deltas.map((d) => d.text).join("")).toBe(result!.output);
      expect(result!.output).toBe(written.replace("ops.team@example.com", "[EMAIL]"));
      for (const d of deltas) expect(d.text).not.toMatch(/ops\.team|@exa|mple\.com/);
    } finally {
      raw.close();
    }
  });

  it("the typed client's stream yields the deltas, then the result", async () => {
    const client = await ArborClient.connect(running.url);
    try {
      const { root } = await client.spawn(spec("stream-client"));
      const parts: StreamPart[] = [];
      for await (const part of client.stream(root, "how do I get access?")) parts.push(part);
      const last = parts.at(-1)!;
      expect(last.type).toBe("result");
      const texts = parts.flatMap((p) => (p.type === "delta" ? [p.text] : []));
      expect(texts.length).toBeGreaterThan(1);
      expect(texts.join("")).toBe(last.type === "result" ? last.output : "");
      expect(texts.join("")).toContain("[EMAIL]");
    } finally {
      await client.close();
    }
  });

  it("a plain ask of the same step answers the same text at once, with no deltas", async () => {
    const client = await ArborClient.connect(running.url);
    try {
      const { root } = await client.spawn(spec("stream-plain"));
      const seen: string[] = [];
      await client.subscribe({ types: ["agent.delta"] }, (e) => seen.push(e.type));
      const { output } = await client.ask(root, "how do I get access?");
      expect(output).toBe(written.replace("ops.team@example.com", "[EMAIL]"));
      expect(seen).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

describe("createArbor().stream", () => {
  it("yields the deltas, then the result", async () => {
    const arbor = await createArbor();
    try {
      const { root } = await arbor.spawn(spec("stream-embedded") as never);
      const parts: StreamPart[] = [];
      for await (const part of arbor.stream(root, "how do I get access?")) parts.push(part);
      const last = parts.at(-1)!;
      const texts = parts.flatMap((p) => (p.type === "delta" ? [p.text] : []));
      expect(last).toMatchObject({ type: "result", output: texts.join("") });
      expect(texts.join("")).toContain("[EMAIL]");
    } finally {
      await arbor.close();
    }
  });
});
