/**
 * The edge holds against hostile frames: values nested thousands of levels deep, ids beyond JSON's
 * number range, invalid UTF-8, and a property-based fuzz of thousands of generated frames while a
 * well-behaved tenant keeps asking its tree. Nothing a client sends may end the process, close
 * another client, or lose the good client's answers.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArborClient } from "../../protocols/client/index.ts";
import { openRaw, type RawSocket } from "./harness.ts";
import { demoSpec, type RunningRuntime, startRuntimeServer } from "./runtime.ts";

const tokenGood = "token-for-the-good-tenant-0123";
const tokenFuzz = "token-for-the-fuzzing-tenant-01";

let running: RunningRuntime;
beforeAll(async () => {
  running = await startRuntimeServer({
    tokens: [
      { token: tokenGood, tenant: "good" },
      { token: tokenFuzz, tenant: "mallory" },
    ],
  });
});
afterAll(() => running.close());

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const nestedArrays = (depth: number, leaf = '"x"') => `${"[".repeat(depth)}${leaf}${"]".repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

describe("deeply nested values", () => {
  it("are refused with -32602 and the path, the connection stays usable and the server alive", async () => {
    const s = await openRaw(running.url, auth(tokenFuzz));
    s.sendText(
      `{"jsonrpc":"2.0","id":1,"method":"agent.ask","params":{"to":"/x/y","input":${nestedArrays(10_000)}}}`,
    );
    const first = (await s.next()) as { id: number; error: { code: number; data: Record<string, unknown> } };
    expect(first).toMatchObject({
      id: 1,
      error: { code: -32602, data: { reason: "too_deep", fault: "user" } },
    });
    const [problem] = first.error.data.problems as Array<{ path: string; message: string }>;
    expect(problem!.path.startsWith("$.params.input[0][0]")).toBe(true);
    expect(problem!.path.length).toBeLessThan(200);
    expect(JSON.stringify(first).length).toBeLessThan(2_000);

    // Deep inside an unknown parameter, where the schema would quote the value in its error.
    s.sendText(`{"jsonrpc":"2.0","id":2,"method":"tree.list","params":{"x":${nestedObjects(5_000)}}}`);
    expect(await s.next()).toMatchObject({ id: 2, error: { code: -32602, data: { reason: "too_deep" } } });

    // A spec nested 3,000 agents deep over the wire.
    let spec = '{"name":"m","kind":"micro","handler":"echo"}';
    for (let i = 0; i < 3_000; i++) spec = `{"name":"a${i}","kind":"child","children":[${spec}]}`;
    s.sendText(
      `{"jsonrpc":"2.0","id":3,"method":"tree.spawn","params":{"spec":{"name":"deep","root":${spec}}}}`,
    );
    expect(await s.next()).toMatchObject({
      id: 3,
      error: {
        code: -32602,
        data: { problems: [{ path: expect.stringMatching(/^\$\.params\.spec\.root\.children/) }] },
      },
    });
    expect((await s.call("tree.list")).result).toEqual({ trees: [] });
    expect((await fetch(`${running.httpUrl}/healthz`)).status).toBe(200);
    s.close();
  });

  it("just inside the limit still reach the method (the check refuses nothing legitimate)", async () => {
    const s = await openRaw(running.url, auth(tokenFuzz));
    // 127 levels below params: params itself is level 1.
    s.sendText(
      `{"jsonrpc":"2.0","id":1,"method":"agent.ask","params":{"to":"/x/y","input":${nestedArrays(126)}}}`,
    );
    const reply = (await s.next()) as { error: { data: { reason: string } } };
    expect(reply.error.data.reason).not.toBe("too_deep");
    s.close();
  });

  it("quote at most a sample of a huge bad value", async () => {
    const s = await openRaw(running.url, auth(tokenFuzz));
    const huge = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ n: i })));
    s.sendText(`{"jsonrpc":"2.0","id":1,"method":"agent.send","params":{"to":"/x/y","message":${huge}}}`);
    const reply = (await s.next()) as {
      error: { code: number; message: string; data: { problems: unknown[] } };
    };
    expect(reply.error.code).toBe(-32602);
    expect(reply.error.data.problems.length).toBeLessThanOrEqual(21);
    expect(JSON.stringify(reply).length).toBeLessThan(8_000);
    s.close();
  });
});

describe("ids and encodings", () => {
  it("refuses an id beyond JSON's number range with -32600 instead of answering an id nobody sent", async () => {
    const s = await openRaw(running.url, auth(tokenFuzz));
    s.sendText('{"jsonrpc":"2.0","id":1e400,"method":"tree.list"}');
    const reply = (await s.next()) as Record<string, unknown>;
    expect(reply).toMatchObject({ id: null, error: { code: -32600 } });
    expect(reply).not.toHaveProperty("result");
    s.close();
  });

  it("closes a text frame of invalid UTF-8 with 1007, as WebSocket requires, and nobody else", async () => {
    const bystander = await openRaw(running.url, auth(tokenFuzz));
    const s = await openRaw(running.url, auth(tokenFuzz));
    s.ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0xff, 0x7d]), { binary: false });
    expect((await s.closed).code).toBe(1007);
    expect((await bystander.call("tree.list")).result).toEqual({ trees: [] });
    bystander.close();
  });
});

/** A frame, and how it is sent. */
type Fuzz =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "binary"; readonly bytes: Uint8Array };

const methods = [
  "tree.spawn",
  "tree.list",
  "tree.inspect",
  "tree.stop",
  "agent.send",
  "agent.ask",
  "agent.stop",
  "agent.kill",
  "events.subscribe",
  "events.unsubscribe",
  "runtime.stats",
  "memory.search",
  "no.such.method",
];

const request = (method: string, params: unknown, id: unknown) =>
  JSON.stringify({ jsonrpc: "2.0", id, method, params });

const frames: fc.Arbitrary<Fuzz> = fc.oneof(
  // Random JSON of any shape.
  fc.json({ maxDepth: 6 }).map((text) => ({ kind: "text" as const, text })),
  // Real methods with params of the wrong types and shapes.
  fc
    .tuple(
      fc.constantFrom(...methods),
      fc.anything({ maxDepth: 4 }),
      fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
    )
    .map(([method, params, id]) => {
      try {
        return { kind: "text" as const, text: request(method, params, id) };
      } catch {
        return { kind: "text" as const, text: request(method, {}, id) };
      }
    }),
  // Deep nesting in params, in the id, and as the whole frame.
  fc
    .tuple(fc.integer({ min: 100, max: 12_000 }), fc.constantFrom(...methods), fc.boolean(), fc.nat(2))
    .map(([depth, method, arrays, where]) => {
      const deep = arrays ? nestedArrays(depth) : nestedObjects(depth);
      const text =
        where === 0
          ? `{"jsonrpc":"2.0","id":7,"method":"${method}","params":{"to":"/x/y","input":${deep},"spec":${deep}}}`
          : where === 1
            ? `{"jsonrpc":"2.0","id":${deep},"method":"${method}"}`
            : deep;
      return { kind: "text" as const, text };
    }),
  // Huge numbers and huge strings.
  fc
    .tuple(
      fc.constantFrom("1e400", "-1e400", "1e-400", "123456789012345678901234567890", "-0"),
      fc.constantFrom(...methods),
    )
    .map(([n, method]) => ({
      kind: "text" as const,
      text: `{"jsonrpc":"2.0","id":${n},"method":"${method}","params":{"timeoutMs":${n},"to":${n},"spec":${n}}}`,
    })),
  fc
    .tuple(fc.integer({ min: 10_000, max: 400_000 }), fc.constantFrom(...methods))
    .map(([length, method]) => ({
      kind: "text" as const,
      text: request(
        method,
        { to: "x".repeat(length), input: "y".repeat(length), spec: "z".repeat(length) },
        9,
      ),
    })),
  // Binary frames and text frames of raw bytes (most of them invalid UTF-8).
  fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ kind: "binary" as const, bytes })),
  fc
    .uint8Array({ minLength: 1, maxLength: 256 })
    .map((bytes) => ({ kind: "text" as const, text: "", bytes })),
) as fc.Arbitrary<Fuzz>;

/** A well-formed JSON-RPC 2.0 response (or a batch of them). */
const isResponse = (value: unknown): boolean => {
  if (Array.isArray(value)) return value.length > 0 && value.every(isResponse);
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  const idOk =
    r.id === null || typeof r.id === "string" || (typeof r.id === "number" && Number.isFinite(r.id));
  if (r.jsonrpc !== "2.0" || !idOk) return false;
  if ("result" in r) return !("error" in r);
  const e = r.error as Record<string, unknown> | undefined;
  return (
    typeof e === "object" &&
    e !== null &&
    Number.isInteger(e.code) &&
    typeof e.message === "string" &&
    typeof (e.data as Record<string, unknown> | undefined)?.reason === "string"
  );
};

/** The close codes the server documents for a frame it will not read. */
const documentedCloses = new Set([1007, 1009]);

describe("fuzz", () => {
  it("answers thousands of generated hostile frames with JSON-RPC errors or documented closes; the good tenant loses nothing", {
    timeout: 180_000,
  }, async () => {
    const good = await ArborClient.connect(running.url, { token: tokenGood });
    const tree = await good.spawn(demoSpec("steady"));
    let stop = false;
    let asked = 0;
    const wrong: Array<string> = [];
    const goodLoop = (async () => {
      while (!stop) {
        const n = asked++;
        const reply = await good.ask(`${tree.root}/upper`, `hello ${n}`);
        if (reply.output !== `HELLO ${n}`) wrong.push(reply.output);
        // A polite client: well under the per-connection rate limit however fast answers come.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    let socket: RawSocket = await openRaw(running.url, auth(tokenFuzz));
    const malformed: Array<string> = [];
    const closes: Array<number> = [];
    let sentinel = 0;

    /** Sends one frame, then a sentinel request; resolves when the sentinel is answered or the socket closed. */
    const probe = async (frame: Fuzz) => {
      const id = `sentinel-${sentinel++}`;
      const answered = new Promise<"answered" | "closed">((resolve) => {
        const onMessage = (data: Buffer) => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(data.toString());
          } catch {
            malformed.push(data.toString().slice(0, 200));
            return;
          }
          if (!isResponse(parsed)) malformed.push(data.toString().slice(0, 200));
          if ((parsed as { id?: unknown }).id === id) {
            socket.ws.off("message", onMessage);
            resolve("answered");
          }
        };
        socket.ws.on("message", onMessage);
        socket.closed.then(() => resolve("closed"));
      });
      if (frame.kind === "binary") socket.ws.send(frame.bytes, { binary: true });
      else if ("bytes" in frame) socket.ws.send(Buffer.from(frame.bytes as Uint8Array), { binary: false });
      else socket.ws.send(frame.text);
      socket.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method: "tree.list" }));
      if ((await answered) === "closed") {
        closes.push((await socket.closed).code);
        socket = await openRaw(running.url, auth(tokenFuzz));
      }
    };

    await fc.assert(
      fc.asyncProperty(frames, async (frame) => {
        await probe(frame);
        return malformed.length === 0 && closes.every((code) => documentedCloses.has(code));
      }),
      // Bounded in count and in time: a busy machine sends fewer frames rather than timing out.
      {
        numRuns: 2_000,
        interruptAfterTimeLimit: 60_000,
        markInterruptAsFailure: false,
        seed: Number(process.env.ARBOR_FUZZ_SEED ?? Date.now() % 2 ** 31),
      },
    );

    stop = true;
    await goodLoop;
    socket.close();
    expect(malformed).toEqual([]);
    expect(closes.filter((code) => !documentedCloses.has(code))).toEqual([]);
    expect(wrong).toEqual([]);
    expect(asked).toBeGreaterThan(0);
    expect(sentinel).toBeGreaterThan(100);
    expect((await good.trees()).map((t) => t.treeId)).toEqual([tree.treeId]);
    expect((await fetch(`${running.httpUrl}/healthz`)).status).toBe(200);
    await good.stopTree(tree.treeId);
    await good.close();
  });
});
