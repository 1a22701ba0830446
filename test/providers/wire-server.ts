/**
 * A local HTTP server on 127.0.0.1 that answers like a provider: JSON, SSE or NDJSON bodies,
 * any status and headers. It records every request (path, query, headers, parsed body) so tests
 * can assert what the adapter sent.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the server saw it. */
export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** What to answer. */
export interface Reply {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly json?: unknown;
  readonly text?: string;
  /** Server-sent events: `data` objects are JSON-encoded, strings sent as they are. */
  readonly sse?: ReadonlyArray<{ readonly event?: string; readonly data: unknown }>;
  /** Newline-delimited JSON (Ollama streaming). */
  readonly ndjson?: ReadonlyArray<unknown>;
  /** Never answer (the connection stays open until the server closes). */
  readonly hang?: boolean;
}

/** A running server. */
export interface WireServer {
  readonly url: string;
  readonly requests: Array<Recorded>;
  /** Resolves once the server has seen `count` requests (await readiness, never sleep). */
  readonly received: (count: number) => Promise<void>;
  /** Indexes of the requests whose client closed the connection before the answer was complete. */
  readonly aborted: Array<number>;
  /** Resolves once request `index` has been received (its body read and recorded). */
  readonly whenReceived: (index: number) => Promise<void>;
  /** Resolves once the client has closed the connection of request `index` before it was answered. */
  readonly whenAborted: (index: number) => Promise<void>;
  readonly close: () => Promise<void>;
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });

/** Starts a server; `answer` gets each request and its index (0-based). */
export const startWireServer = async (
  answer: (req: Recorded, index: number) => Reply,
): Promise<WireServer> => {
  const requests: Array<Recorded> = [];
  const aborted: Array<number> = [];
  const abortWaiters = new Map<number, Array<() => void>>();
  let arrived = 0;
  const receiveWaiters = new Map<number, Array<() => void>>();
  const server = createServer(async (req, res) => {
    const index = arrived++; // its index in `requests` once its body is read
    res.on("close", () => {
      if (res.writableEnded) return;
      aborted.push(index);
      for (const wake of abortWaiters.get(index) ?? []) wake();
      abortWaiters.delete(index);
    });
    const raw = await readBody(req);
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {}
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
    const recorded: Recorded = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers,
      body,
    };
    requests.push(recorded);
    for (const wake of receiveWaiters.get(requests.length - 1) ?? []) wake();
    receiveWaiters.delete(requests.length - 1);
    const reply = answer(recorded, requests.length - 1);
    const status = reply.status ?? 200;
    if (reply.hang) return;
    if (reply.sse) {
      res.writeHead(status, { "content-type": "text/event-stream", ...reply.headers });
      for (const e of reply.sse)
        res.write(
          `${e.event ? `event: ${e.event}\n` : ""}data: ${typeof e.data === "string" ? e.data : JSON.stringify(e.data)}\n\n`,
        );
      res.end();
    } else if (reply.ndjson) {
      res.writeHead(status, { "content-type": "application/x-ndjson", ...reply.headers });
      for (const line of reply.ndjson) res.write(`${JSON.stringify(line)}\n`);
      res.end();
    } else if (reply.json !== undefined) {
      res.writeHead(status, { "content-type": "application/json", ...reply.headers });
      res.end(JSON.stringify(reply.json));
    } else {
      res.writeHead(status, { "content-type": "text/plain", ...reply.headers });
      res.end(reply.text ?? "");
    }
  });
  const whenReceived = (index: number) =>
    requests.length > index
      ? Promise.resolve()
      : new Promise<void>((resolve) =>
          receiveWaiters.set(index, [...(receiveWaiters.get(index) ?? []), resolve]),
        );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    aborted,
    received: (count) => (count <= 0 ? Promise.resolve() : whenReceived(count - 1)),
    whenReceived,
    whenAborted: (index) =>
      aborted.includes(index)
        ? Promise.resolve()
        : new Promise<void>((resolve) =>
            abortWaiters.set(index, [...(abortWaiters.get(index) ?? []), resolve]),
          ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

/**
 * A chat completion in OpenAI's wire format, for local servers that speak it: `content` from the
 * assistant, with `tool_calls` when given, and the token counts `[prompt, completion]`.
 */
export const openaiCompletion = (
  content: string | null,
  options: {
    readonly tokens?: readonly [number, number];
    readonly toolCalls?: unknown;
    readonly model?: string;
  } = {},
) => {
  const [prompt, completion] = options.tokens ?? [3, 2];
  return {
    id: "c1",
    object: "chat.completion",
    created: 1,
    model: options.model ?? "gpt-4o-mini",
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content,
          ...(options.toolCalls ? { tool_calls: options.toolCalls } : {}),
        },
        finish_reason: options.toolCalls ? "tool_calls" : "stop",
      },
    ],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  };
};
