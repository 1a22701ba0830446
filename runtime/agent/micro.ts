/**
 * Light actor logic for handler micro agents, where message volume is: an XState `fromTransition`
 * actor whose handler runs synchronously inside `send` — no fiber, no event per message. (A micro
 * agent driven by a model runs its steps through the cell's lifecycle statechart like any agent.)
 */
import { Exit } from "effect";
import { fromTransition } from "xstate";
import type { MicroHandler } from "../plugin.ts";
import { type Envelope, settle } from "./envelope.ts";

const zeroUsage = { inputTokens: 0, outputTokens: 0 };

/** What a handler micro needs from its cell. */
export interface MicroHost {
  /** The handler threw: the agent fails abnormally; `envelope` is kept for the next incarnation. */
  readonly handlerCrashed: (envelope: Envelope, reason: string) => void;
  /** The handler asked to exit normally. */
  readonly handlerExited: (reason: string) => void;
}

export interface MicroState {
  readonly host: MicroHost;
  readonly handler: MicroHandler;
  readonly user: unknown;
  readonly handled: number;
}

export type MicroEvent = { readonly type: "MSG"; readonly envelope: Envelope };

/** The transition every handler micro shares: run the handler, settle the envelope. */
export const microTransition = (state: MicroState, event: MicroEvent): MicroState => {
  if (event.type !== "MSG") return state; // XState's own events (stop) carry no envelope
  const envelope = event.envelope;
  let result: ReturnType<MicroHandler["handle"]>;
  try {
    result = state.handler.handle(state.user, envelope.input);
  } catch (error) {
    state.host.handlerCrashed(envelope, error instanceof Error ? error.message : String(error));
    return state;
  }
  if (envelope.settle) settle(envelope, Exit.succeed({ output: result[1], usage: zeroUsage }));
  if (result[2]) state.host.handlerExited(result[2].exit);
  return { host: state.host, handler: state.handler, user: result[0], handled: state.handled + 1 };
};

/** Handler micro logic; input is the cell, the handler and the state to start from (default: the handler's initial one). */
export const microHandlerLogic = fromTransition(
  microTransition,
  ({
    input,
  }: {
    input: { host: MicroHost; handler: MicroHandler; from?: { readonly state: unknown } };
  }): MicroState => ({
    host: input.host,
    handler: input.handler,
    user: input.from ? input.from.state : input.handler.initial(),
    handled: 0,
  }),
);

/**
 * The state a handler kept in a durable tree (`MicroHandler.load` of what `save` made), to start
 * from; undefined when none was kept or it does not load (then `report` says why, and the handler
 * starts from its initial state).
 */
export const loadKeptState = (
  handler: MicroHandler,
  kept: { readonly saved: unknown } | undefined,
  report: (reason: string) => void,
): { readonly state: unknown } | undefined => {
  if (kept === undefined) return undefined;
  try {
    return { state: handler.load ? handler.load(kept.saved) : kept.saved };
  } catch (error) {
    report(
      `its kept handler state does not load (${error instanceof Error ? error.message : String(error)}); the handler starts from its initial state`,
    );
    return undefined;
  }
};

/** A handler's state, as JSON data a durable tree keeps. */
export const savedHandlerState = (handler: MicroHandler, user: unknown): unknown =>
  handler.save ? handler.save(user) : user;
