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

/**
 * `triage` reads diagnosis lines (`PROBLEM …` / `OK …`) and replies with one repair line per problem,
 * or `nothing to repair`: the cheap, model-free step between diagnostics and repairs.
 */
export const triageHandler = stateless((m) => {
  const problems = m
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => /\bPROBLEM\b/.test(line));
  return problems.length === 0
    ? "nothing to repair"
    : problems.map((p) => `repair: ${p.replace(/^.*?PROBLEM:?\s*/, "")}`).join("\n");
});

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
        host.registerHandler("triage", triageHandler),
      ],
      { discard: true },
    ),
});
