/**
 * An optional response cache (off by default): complete answers keyed by a SHA-256 hash of the
 * normalized request (the candidates asked, the tenant, and what is asked), kept for a TTL
 * measured on Effect's Clock.
 *
 * An answer is not stored when it arrives: it is *held* for the agent that asked until that
 * agent's step settles. A step that replies stores its held answers; a step that fails (a
 * guardrail blocked the output, a tripwire halted the agent, the agent crashed) drops them, so a
 * rejected answer is never served again. `settleOnAgentEvents` wires this to the event bus.
 *
 * Gotcha: the caller's identity (tree, agent) is not part of the key, so two agents of one tenant
 * asking the same thing share an answer; that is the point, but keep it off for non-deterministic
 * uses. Providers whose answer depends on more than the request (`cacheable: false`, like the
 * scripted provider, whose answer depends on its position in the script) are never cached.
 */
import { createHash } from "node:crypto";
import type { EventBus } from "../../runtime/events.ts";
import type { CallContext, ModelRequest, ModelResponse } from "../../runtime/model.ts";

/** The cache. */
export interface ResponseCache {
  readonly get: (key: string, now: number) => ModelResponse | undefined;
  /** Stores an answer at once (for callers that are not agents). */
  readonly set: (key: string, value: ModelResponse, now: number) => void;
  /** Holds an answer for the agent that asked until its step settles. */
  readonly hold: (caller: string, key: string, value: ModelResponse) => void;
  /** Stores (`accepted`) or drops what `caller` holds. */
  readonly settle: (caller: string, accepted: boolean, now: number) => void;
  readonly size: () => number;
}

/** Who holds an answer: one agent incarnation of one tree. */
export const callerOf = (context: {
  readonly tree: string;
  readonly address: string;
  readonly agentId: string;
}) => `${context.tree}\u0000${context.address}\u0000${context.agentId}`;

/**
 * The cache key of a request: the candidates that may answer (`provider/model`, in order), the
 * tenant, the settings and the conversation; not the agent that asks.
 */
export const cacheKey = (
  candidates: ReadonlyArray<string>,
  settings: { readonly temperature?: number; readonly maxTokens?: number; readonly options?: unknown },
  request: Omit<ModelRequest, "model" | "options"> & { readonly context?: CallContext },
): string =>
  createHash("sha256")
    .update(
      JSON.stringify([
        candidates,
        request.context?.tenant ?? null,
        settings.temperature ?? null,
        settings.maxTokens ?? null,
        settings.options ?? null,
        request.messages,
        request.tools ?? null,
      ]),
    )
    .digest("hex");

/** Answers one agent may hold at once (a step with many tool rounds); older ones are dropped. */
const MAX_HELD_PER_CALLER = 64;

/** Makes an LRU-ish cache (oldest insert evicted first) holding at most `maxEntries`. */
export const makeResponseCache = (settings: {
  readonly ttlMs: number;
  readonly maxEntries: number;
}): ResponseCache => {
  const entries = new Map<string, { readonly value: ModelResponse; readonly expiresAt: number }>();
  const held = new Map<string, Array<{ readonly key: string; readonly value: ModelResponse }>>();
  const set = (key: string, value: ModelResponse, now: number) => {
    entries.delete(key);
    entries.set(key, { value, expiresAt: now + settings.ttlMs });
    while (entries.size > settings.maxEntries) {
      const oldest = entries.keys().next().value;
      if (oldest === undefined) break;
      entries.delete(oldest);
    }
  };
  return {
    get: (key, now) => {
      const hit = entries.get(key);
      if (!hit) return undefined;
      if (hit.expiresAt <= now) {
        entries.delete(key);
        return undefined;
      }
      return hit.value;
    },
    set,
    hold: (caller, key, value) => {
      let list = held.get(caller);
      if (!list) {
        list = [];
        held.set(caller, list);
        // Agents that never settle (interrupted, stopped) must not grow the map without bound.
        while (held.size > settings.maxEntries) {
          const oldest = held.keys().next().value;
          if (oldest === undefined) break;
          held.delete(oldest);
        }
      }
      list.push({ key, value });
      if (list.length > MAX_HELD_PER_CALLER) list.shift();
    },
    settle: (caller, accepted, now) => {
      const list = held.get(caller);
      if (!list) return;
      held.delete(caller);
      if (accepted) for (const { key, value } of list) set(key, value, now);
    },
    size: () => entries.size,
  };
};

/**
 * Settles held answers from the agents' events: `agent.replied` stores them, `agent.request_failed`
 * and `agent.failed` drop them. Listens synchronously, so the answer is settled before the agent's
 * next step can ask again. Returns the function that stops listening.
 */
export const settleOnAgentEvents = (events: EventBus, cache: () => ResponseCache | undefined): (() => void) =>
  events.listen(
    (event) => {
      if (
        event.type !== "agent.replied" &&
        event.type !== "agent.request_failed" &&
        event.type !== "agent.failed"
      )
        return;
      cache()?.settle(
        callerOf({ tree: event.tree, address: event.address, agentId: event.id }),
        event.type === "agent.replied",
        event.time,
      );
    },
    // Only while a cache is configured (a reload may turn it on or off).
    { types: ["agent.replied", "agent.request_failed", "agent.failed"], active: () => cache() !== undefined },
  );
