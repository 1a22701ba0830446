/**
 * A small JSON-RPC 2.0 client over the server's WebSocket: the only way the inspector reads or
 * changes anything. A token (when the server needs one) travels as the `arbor.bearer.<token>`
 * subprotocol, since browsers cannot set headers on a WebSocket.
 */
export class RpcError extends Error {
  constructor(error) {
    super(error.message);
    this.code = error.code;
    this.data = error.data ?? {};
  }
}

/** Opens a connection; resolves once it is open, rejects when the server refuses it. */
export const connect = (url, token) =>
  new Promise((resolve, reject) => {
    const protocols = token ? ["arbor.v1", `arbor.bearer.${token}`] : ["arbor.v1"];
    const ws = new WebSocket(url, protocols);
    const pending = new Map();
    const eventListeners = new Set();
    const closeListeners = new Set();
    let nextId = 1;
    let opened = false;
    ws.addEventListener("open", () => {
      opened = true;
      resolve({
        call(method, params = {}) {
          const id = nextId++;
          return new Promise((ok, fail) => {
            pending.set(id, { ok, fail });
            ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
          });
        },
        onEvent(listener) {
          eventListeners.add(listener);
          return () => eventListeners.delete(listener);
        },
        onClose(listener) {
          closeListeners.add(listener);
          return () => closeListeners.delete(listener);
        },
        close: () => ws.close(1000, "inspector closed"),
      });
    });
    ws.addEventListener("message", (message) => {
      const frame = JSON.parse(message.data);
      if (frame.method === "event") {
        for (const listener of eventListeners) listener(frame.params.event);
        return;
      }
      const waiting = pending.get(frame.id);
      if (waiting === undefined) return;
      pending.delete(frame.id);
      if (frame.error) waiting.fail(new RpcError(frame.error));
      else waiting.ok(frame.result);
    });
    ws.addEventListener("close", (event) => {
      for (const { fail } of pending.values()) fail(new RpcError({ code: -1, message: "connection closed" }));
      pending.clear();
      if (!opened) reject(new Error(`the server refused the connection (${event.code})`));
      for (const listener of closeListeners) listener(event);
    });
  });
