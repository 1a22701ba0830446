/**
 * The one typed event stream of the runtime. The CLI, WebSocket subscriptions, OTEL spans and the
 * memory graph's lineage all read it. Add an event type here before adding a log line anywhere.
 *
 * Every event has `type`, `tree`, `address`, `id` and `time` (epoch ms from Effect's Clock), and
 * `reason` where there is one. Runtime-wide events (a provider key cooling down, a plugin loading)
 * use `tree: ""` and `address: "/"` unless an agent caused them.
 */
import { Effect, PubSub, type Queue, type Scope, Stream } from "effect";
import { currentTraceId, tracingActive } from "./tracing.ts";

/** The agent kinds: `parent` orchestrates, `child` does a task, `micro` is a cheap worker that cannot spawn. */
export type AgentKind = "parent" | "child" | "micro";

interface Base {
  readonly tree: string;
  readonly address: string;
  readonly id: string;
  readonly time: number;
  /** The OpenTelemetry trace the event happened in (only when tracing is on), to find it from the event. */
  readonly traceId?: string;
}

/** Lifecycle of agents and trees. */
export type LifecycleEvent =
  | (Base & { readonly type: "tree.started"; readonly name: string })
  | (Base & {
      readonly type: "tree.stopped";
      readonly reason: string;
      readonly status: "completed" | "stopped" | "failed";
    })
  | (Base & {
      readonly type: "agent.spawned";
      readonly kind: AgentKind;
      readonly role?: string;
      readonly parent?: string;
      readonly incarnation: number;
    })
  /** A durable tree came back after a restart of the runtime, with `tasks` tasks to finish. */
  | (Base & { readonly type: "tree.resumed"; readonly name: string; readonly tasks: number })
  /** A durable tree could not come back (its stored state does not decode, or its spec no longer compiles): it stays down. */
  | (Base & { readonly type: "tree.resume_failed"; readonly reason: string })
  /** A durable tree's state could not be written; the tree runs on, but would not come back as it is now. */
  | (Base & { readonly type: "tree.durable_failed"; readonly reason: string })
  | (Base & { readonly type: "agent.failed"; readonly reason: string; readonly incarnation: number })
  | (Base & {
      readonly type: "agent.restarted";
      readonly reason: string;
      readonly incarnation: number;
      readonly restarts: number;
      readonly delayMs: number;
      readonly strategy: "one_for_one" | "one_for_all" | "rest_for_one";
    })
  | (Base & { readonly type: "agent.escalated"; readonly reason: string })
  | (Base & { readonly type: "agent.stopped"; readonly reason: string; readonly normal: boolean })
  | (Base & { readonly type: "agent.task"; readonly requestId: string; readonly input: string })
  | (Base & { readonly type: "agent.replied"; readonly requestId: string; readonly output: string })
  | (Base & { readonly type: "agent.request_failed"; readonly requestId: string; readonly reason: string })
  /** The asker withdrew the task in flight (deadline, `agent.cancel`, disconnect); its step was interrupted. */
  | (Base & { readonly type: "agent.cancelled"; readonly requestId: string })
  /**
   * Text the agent's model is writing, for a step that streams: `seq` counts from 0 per request and
   * the texts, in order, add up to the reply. Coalesced (about every 30 ms or 64 characters) and
   * already through the output guardrails.
   */
  | (Base & {
      readonly type: "agent.delta";
      readonly requestId: string;
      readonly seq: number;
      readonly text: string;
    })
  | (Base & {
      readonly type: "message.dropped";
      readonly reason: string;
      readonly policy: "drop-newest" | "fail";
      readonly capacity: number;
    });

/** Model providers and routing (plugins/providers). Keys appear only as fingerprints. */
export type ProviderEvent =
  | (Base & {
      readonly type: "provider.call";
      readonly provider: string;
      readonly model: string;
      readonly key?: string;
      readonly inputTokens: number;
      readonly outputTokens: number;
      readonly costUsd?: number;
      readonly latencyMs: number;
      readonly outcome: "ok" | "error";
      readonly cached?: boolean;
      readonly reason?: string;
      /** The tenant whose budget the call was charged to; absent for the operator. */
      readonly tenant?: string;
    })
  | (Base & {
      /** A failed attempt is tried again after `delayMs` (5xx, timeout, network; or a short rate limit waited out). */
      readonly type: "provider.retry";
      readonly provider: string;
      readonly model: string;
      /** The attempt about to be made, from 2. */
      readonly attempt: number;
      readonly delayMs: number;
      readonly reason: string;
    })
  | (Base & {
      readonly type: "provider.fallback";
      readonly from: string;
      readonly to: string;
      readonly reason: string;
    })
  | (Base & {
      readonly type: "key.cooldown";
      readonly provider: string;
      readonly key: string;
      readonly untilMs: number;
      readonly reason: string;
    })
  | (Base & {
      readonly type: "circuit.opened" | "circuit.half_open" | "circuit.closed";
      readonly provider: string;
      readonly model: string;
      readonly reason?: string;
    })
  | (Base & {
      readonly type: "budget.exceeded";
      readonly scope: "tree" | "tenant";
      readonly limit: string;
      readonly reason: string;
    });

/** Guardrails, tripwires and tools (plugins/guardrails, plugins/tripwires, plugins/tools). */
export type SafetyEvent =
  | (Base & {
      readonly type: "guardrail.blocked";
      readonly stage: "input" | "output" | "tool";
      readonly policy: string;
      readonly reason: string;
    })
  | (Base & {
      readonly type: "guardrail.redacted";
      readonly stage: "input" | "output" | "tool";
      readonly policy: string;
      readonly redactions: ReadonlyArray<{ readonly kind: string; readonly count: number }>;
      readonly reason?: string;
    })
  | (Base & {
      readonly type: "tripwire.triggered";
      readonly tripwire: string;
      readonly measurement: number;
      readonly threshold: number;
      readonly action: "warn" | "halt" | "stop-tree";
      readonly reason: string;
    })
  | (Base & {
      readonly type: "tool.called";
      readonly tool: string;
      readonly callId: string;
      readonly args: unknown;
    })
  | (Base & {
      readonly type: "tool.result";
      readonly tool: string;
      readonly callId: string;
      readonly ok: boolean;
      readonly result: unknown;
      readonly reason?: string;
    })
  /** A tool call waits for a person (`needsApproval`, `tools.approve`); `args` are guardrail-redacted. */
  | (Base & {
      readonly type: "approval.requested";
      readonly approvalId: string;
      readonly tool: string;
      readonly args: unknown;
      readonly requestId: string;
      readonly requestedAt: number;
      readonly expiresAt: number;
    })
  /** A person (`by`: `operator` or the tenant), or the timeout (`by: "timeout"`), decided. */
  | (Base & {
      readonly type: "approval.decided";
      readonly approvalId: string;
      readonly tool: string;
      readonly requestId: string;
      readonly decision: "approve" | "deny";
      readonly by: string;
      readonly edited: boolean;
      readonly reason?: string;
    })
  | (Base & {
      readonly type: "handoff";
      readonly to: string;
      readonly task: string;
      readonly reason?: string;
    })
  | (Base & {
      readonly type: "mcp.server.up";
      readonly server: string;
      readonly tools: number;
      readonly restarts: number;
    })
  | (Base & {
      readonly type: "mcp.server.down";
      readonly server: string;
      readonly reason: string;
      readonly retryInMs: number;
    });

/**
 * Memory graph writes (knowledge/), and what an agent recalled before a step (`reason` when it
 * recalled nothing because memory failed or a guardrail blocked it).
 */
export type MemoryEvent =
  | (Base & {
      readonly type: "memory.written";
      readonly kind: "fact" | "relation" | "entity" | "episode" | "document";
      readonly key: string;
    })
  | (Base & {
      readonly type: "memory.recalled";
      readonly facts: number;
      readonly passages: number;
      readonly reason?: string;
    });

/**
 * Workflows (agents/workflow): one run of a tree's workflow; `run` names it, `step` the step. The
 * address is the step's agent (the root's for the workflow as a whole).
 */
export type WorkflowEvent =
  | (Base & { readonly type: "workflow.started"; readonly run: string; readonly steps: number })
  | (Base & {
      readonly type: "workflow.step.started";
      readonly run: string;
      readonly step: string;
      readonly attempt: number;
    })
  | (Base & {
      readonly type: "workflow.step.completed";
      readonly run: string;
      readonly step: string;
      readonly attempts: number;
      readonly output: string;
    })
  /** An approval step waits for a person: `approvalId` is its entry in `approval.list`. */
  | (Base & {
      readonly type: "workflow.step.waiting";
      readonly run: string;
      readonly step: string;
      readonly approvalId: string;
      readonly prompt: string;
    })
  | (Base & {
      readonly type: "workflow.step.retried";
      readonly run: string;
      readonly step: string;
      readonly attempt: number;
      readonly reason: string;
    })
  | (Base & {
      readonly type: "workflow.step.failed" | "workflow.step.skipped";
      readonly run: string;
      readonly step: string;
      readonly reason: string;
    })
  | (Base & { readonly type: "workflow.completed"; readonly run: string; readonly output: string })
  | (Base & {
      readonly type: "workflow.failed";
      readonly run: string;
      readonly step: string;
      readonly reason: string;
    });

/** Plugin host. */
export type PluginEvent =
  | (Base & { readonly type: "plugin.loaded"; readonly plugin: string; readonly version: string })
  | (Base & { readonly type: "plugin.unloaded"; readonly plugin: string })
  /** A synchronous listener threw while handling `event`; the publisher and other listeners went on. */
  | (Base & { readonly type: "listener.failed"; readonly event: string; readonly reason: string });

/** Every event the runtime publishes. */
export type ArborEvent =
  | LifecycleEvent
  | ProviderEvent
  | SafetyEvent
  | MemoryEvent
  | WorkflowEvent
  | PluginEvent;

/** The `type` names of all events. */
export type ArborEventType = ArborEvent["type"];

/** Distributes `Omit` over a union so each event keeps its own fields. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event as its publisher writes it: `time` is stamped by the bus from Effect's Clock. */
export type ArborEventInput = DistributiveOmit<ArborEvent, "time">;

/** Which events a synchronous listener wants (all when absent). */
export interface ListenFilter {
  /** Only these types. */
  readonly types?: ReadonlyArray<ArborEventType>;
  /** Only while this says so (e.g. while a feature that needs the events is configured). */
  readonly active?: () => boolean;
}

/**
 * The event bus: an unbounded Effect PubSub. `publish` never blocks the publisher; a slow
 * subscriber is the subscriber's problem (the WebSocket layer drops and counts for it).
 */
export interface EventBus {
  readonly publish: (event: ArborEventInput) => Effect.Effect<void>;
  /** Publish from synchronous code (actor callbacks); same semantics as `publish`. */
  readonly publishSync: (event: ArborEventInput) => void;
  /** A queue of every event published after the call; closed with the scope. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<ArborEvent>, never, Scope.Scope>;
  /** The same as a Stream. */
  readonly stream: Stream.Stream<ArborEvent>;
  /**
   * Synchronous listeners, for in-process consumers that must see every event in order (CLI, tests).
   * A listener that needs only some events says which (`filter`), so the rest need not be built.
   */
  readonly listen: (listener: (event: ArborEvent) => void, filter?: ListenFilter) => () => void;
  /**
   * Whether an event of `type` published now would reach anyone (a subscriber, or a listener that
   * wants it). Events nobody wants are not built: `publishSync` drops them at once, and hot paths
   * check first so they do not even assemble them.
   */
  readonly wants: (type: ArborEventType) => boolean;
  /**
   * How many times a listener threw. A throwing listener never reaches the runtime code that
   * published: it is counted here and reported as a `listener.failed` event.
   */
  readonly listenerErrors: () => number;
}

interface Listening {
  readonly listener: (event: ArborEvent) => void;
  readonly types: ReadonlySet<ArborEventType> | undefined;
  readonly active: (() => boolean) | undefined;
}

const reaches = (entry: Listening, type: ArborEventType): boolean =>
  (entry.types === undefined || entry.types.has(type)) && (entry.active === undefined || entry.active());

/**
 * Makes an event bus. `now` reads the clock used to stamp events; the runtime passes Effect's Clock
 * so tests under TestClock get deterministic times.
 */
export const makeEventBus = (now: () => number): Effect.Effect<EventBus> =>
  Effect.map(PubSub.unbounded<ArborEvent>(), (pubsub) => {
    const listeners = new Set<Listening>();
    /** Listeners that take every event, and subscribers of the PubSub: either makes every event wanted. */
    let takeAll = 0;
    let subscribers = 0;
    // `time` first and then set: a literal that starts with a spread and goes on is V8's slow path
    // (Node 20), about 30 times slower, and every event wanted passes here.
    const stamp = (event: ArborEventInput): ArborEvent => {
      const stamped = { time: 0, ...event } as { time: number };
      stamped.time = now();
      return stamped as ArborEvent;
    };
    let listenerErrors = 0;
    const wants = (type: ArborEventType): boolean => {
      if (takeAll > 0 || subscribers > 0) return true;
      for (const entry of listeners) if (reaches(entry, type)) return true;
      return false;
    };
    const deliver = (event: ArborEvent) => {
      for (const entry of listeners) {
        if (!reaches(entry, event.type)) continue;
        try {
          entry.listener(event);
        } catch (error) {
          listenerErrors++;
          // Not reported for its own report: a listener that throws on everything must not loop.
          if (event.type !== "listener.failed")
            publishSync({
              type: "listener.failed",
              tree: event.tree,
              address: event.address,
              id: event.id,
              event: event.type,
              reason: error instanceof Error ? error.message : String(error),
            });
        }
      }
    };
    const publishSync = (input: ArborEventInput) => {
      if (!wants(input.type)) return;
      const event = stamp(input);
      if (listeners.size > 0) deliver(event);
      if (subscribers > 0) pubsub.unsafeOffer(event);
    };
    const subscribe = Effect.acquireRelease(
      Effect.sync(() => {
        subscribers++;
      }),
      () =>
        Effect.sync(() => {
          subscribers--;
        }),
    ).pipe(Effect.zipRight(PubSub.subscribe(pubsub)));
    return {
      // Stamped with the trace in scope, so a subscriber can go from an event to its trace.
      publish: (input) =>
        tracingActive() && input.traceId === undefined
          ? Effect.flatMap(currentTraceId, (traceId) =>
              Effect.sync(() => publishSync(traceId !== undefined ? { ...input, traceId } : input)),
            )
          : Effect.sync(() => publishSync(input)),
      publishSync,
      subscribe,
      stream: Stream.unwrapScoped(Effect.map(subscribe, (queue) => Stream.fromQueue(queue))),
      listen: (listener, filter) => {
        const entry: Listening = {
          listener,
          types: filter?.types === undefined ? undefined : new Set(filter.types),
          active: filter?.active,
        };
        if (entry.types === undefined && entry.active === undefined) takeAll++;
        listeners.add(entry);
        return () => {
          if (!listeners.delete(entry)) return;
          if (entry.types === undefined && entry.active === undefined) takeAll--;
        };
      },
      wants,
      listenerErrors: () => listenerErrors,
    };
  });
