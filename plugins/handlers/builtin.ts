/**
 * Built-in handlers for micro agents (`"handler": "echo"` in a spec): pure, synchronous functions
 * that run on the hot path without a model.
 */
import { Effect } from "effect";
import { definePlugin, type MicroHandler } from "../../runtime/plugin.ts";

const stateless = (f: (message: string) => string): MicroHandler => ({
  initial: () => null,
  handle: (state, message) => [state, f(message)],
});

/** `echo` replies with the message, `upper` upper-cases it, `length` counts its characters. */
export const echoHandler = stateless((m) => m);
export const upperHandler = stateless((m) => m.toUpperCase());
export const lengthHandler = stateless((m) => String(m.length));
/** `count` replies with how many messages it has handled in this incarnation. */
export const countHandler: MicroHandler<number> = { initial: () => 0, handle: (n) => [n + 1, String(n + 1)] };

export const builtinHandlersPlugin = definePlugin({
  name: "handlers",
  version: "1.0.0",
  setup: (host) =>
    Effect.all(
      [
        host.registerHandler("echo", echoHandler),
        host.registerHandler("upper", upperHandler),
        host.registerHandler("length", lengthHandler),
        host.registerHandler("count", countHandler),
      ],
      { discard: true },
    ),
});
