/**
 * Event subscriptions: one fiber reads the runtime's event stream and fans each event out to the
 * subscriptions that may see it (same tenant, matching tree and type; runtime-wide events, which
 * belong to no tree, only to the operator tenants). The runtime never waits for
 * a client: when a socket has more than `highWaterBytes` buffered, events for it are dropped and
 * counted, the count is reported (`events.dropped`) once it catches up, and after
 * `maxDroppedEvents` drops in a row the connection is closed with code 4008.
 */
import { Effect, Queue, type Scope } from "effect";
import type { ArborEvent } from "../../runtime/events.ts";
import type { AgentSystemService } from "../../runtime/system.ts";
import { operatorTenants } from "./auth.ts";
import type { Backpressure } from "./options.ts";
import { type Ownership, treeIdOfEvent } from "./ownership.ts";

/** Close code for a subscriber that stopped reading (application range 4000-4999). */
export const slowConsumerCloseCode = 4008;

/** What the hub needs from a connection. */
export interface Subscriber {
  readonly tenant: string;
  readonly bufferedAmount: () => number;
  readonly send: (text: string) => void;
  readonly close: (code: number, reason: string) => void;
}

/** Filters of one subscription. */
export interface SubscriptionFilter {
  readonly treeId?: string;
  readonly types?: ReadonlyArray<string>;
}

/** Counters for `/metrics`. */
export interface HubCounters {
  readonly subscriptions: number;
  readonly eventsSent: number;
  readonly eventsDropped: number;
  readonly slowConsumersClosed: number;
}

/** The fan-out. */
export interface EventHub {
  readonly subscribe: (subscriber: Subscriber, filter: SubscriptionFilter) => string;
  readonly unsubscribe: (subscriber: Subscriber, subscription: string) => boolean;
  readonly removeAll: (subscriber: Subscriber) => void;
  readonly count: (subscriber: Subscriber) => number;
  readonly counters: () => HubCounters;
  /** Waits until every event published so far has been fanned out (bounded by `maxMs`). */
  readonly drain: (maxMs: number) => Effect.Effect<void>;
}

interface Subscription {
  readonly id: string;
  readonly treeId: string | undefined;
  readonly matches: (type: string) => boolean;
  dropped: number;
  total: number;
}

interface Connection {
  readonly subscriber: Subscriber;
  readonly subscriptions: Map<string, Subscription>;
  streak: number;
  closed: boolean;
}

const typeMatcher = (types: ReadonlyArray<string> | undefined): ((type: string) => boolean) => {
  if (types === undefined || types.length === 0 || types.includes("*")) return () => true;
  const exact = new Set(types.filter((t) => !t.endsWith(".*")));
  const prefixes = types.filter((t) => t.endsWith(".*")).map((t) => t.slice(0, -1));
  return (type) => exact.has(type) || prefixes.some((p) => type.startsWith(p));
};

/** Starts the fan-out fiber for the lifetime of the scope. */
export const makeEventHub = (
  system: AgentSystemService,
  ownership: Ownership,
  backpressure: Backpressure,
): Effect.Effect<EventHub, never, Scope.Scope> =>
  Effect.gen(function* () {
    const connections = new Map<Subscriber, Connection>();
    let nextId = 0;
    let subscriptions = 0;
    let eventsSent = 0;
    let eventsDropped = 0;
    let slowConsumersClosed = 0;

    const deliver = (conn: Connection, sub: Subscription, eventJson: string) => {
      if (conn.closed) return;
      if (conn.subscriber.bufferedAmount() > backpressure.highWaterBytes) {
        sub.dropped += 1;
        sub.total += 1;
        eventsDropped += 1;
        conn.streak += 1;
        if (conn.streak >= backpressure.maxDroppedEvents) {
          conn.closed = true;
          slowConsumersClosed += 1;
          conn.subscriber.close(slowConsumerCloseCode, `slow consumer: ${conn.streak} events dropped`);
        }
        return;
      }
      conn.streak = 0;
      if (sub.dropped > 0) {
        conn.subscriber.send(
          `{"jsonrpc":"2.0","method":"events.dropped","params":${JSON.stringify({ subscription: sub.id, dropped: sub.dropped, total: sub.total })}}`,
        );
        sub.dropped = 0;
      }
      conn.subscriber.send(
        `{"jsonrpc":"2.0","method":"event","params":{"subscription":${JSON.stringify(sub.id)},"event":${eventJson}}}`,
      );
      eventsSent += 1;
    };

    const fanOut = (event: ArborEvent) =>
      Effect.gen(function* () {
        const treeId = treeIdOfEvent(event);
        if (subscriptions > 0) {
          const owner = treeId === undefined ? undefined : yield* ownership.ownerOf(treeId);
          let eventJson: string | undefined;
          for (const conn of connections.values()) {
            // A tree's events go to its tenant; runtime-wide ones (memory writes, plugins) to the operator.
            if (
              treeId !== undefined
                ? conn.subscriber.tenant !== owner
                : !operatorTenants.has(conn.subscriber.tenant)
            )
              continue;
            for (const sub of conn.subscriptions.values()) {
              if (sub.treeId !== undefined && sub.treeId !== treeId) continue;
              if (!sub.matches(event.type)) continue;
              eventJson ??= JSON.stringify(event);
              deliver(conn, sub, eventJson);
            }
          }
        }
        if (event.type === "tree.stopped" && treeId !== undefined) ownership.forget(treeId);
      });

    const queue = yield* system.events.subscribe;
    let busy = false;
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.takeBetween(queue, 1, 1024), (chunk) => {
          busy = true;
          return Effect.forEach(chunk, fanOut, { discard: true }).pipe(
            Effect.ensuring(
              Effect.sync(() => {
                busy = false;
              }),
            ),
          );
        }),
      ),
    );
    const idle = Effect.map(Queue.size(queue), (size) => size === 0 && !busy);

    const connectionOf = (subscriber: Subscriber): Connection => {
      let conn = connections.get(subscriber);
      if (conn === undefined) {
        conn = { subscriber, subscriptions: new Map(), streak: 0, closed: false };
        connections.set(subscriber, conn);
      }
      return conn;
    };

    return {
      subscribe: (subscriber, filter) => {
        nextId += 1;
        const id = `sub-${nextId}`;
        connectionOf(subscriber).subscriptions.set(id, {
          id,
          treeId: filter.treeId,
          matches: typeMatcher(filter.types),
          dropped: 0,
          total: 0,
        });
        subscriptions += 1;
        return id;
      },
      unsubscribe: (subscriber, subscription) => {
        const conn = connections.get(subscriber);
        if (conn === undefined || !conn.subscriptions.delete(subscription)) return false;
        subscriptions -= 1;
        if (conn.subscriptions.size === 0) connections.delete(subscriber);
        return true;
      },
      removeAll: (subscriber) => {
        const conn = connections.get(subscriber);
        if (conn === undefined) return;
        subscriptions -= conn.subscriptions.size;
        connections.delete(subscriber);
      },
      count: (subscriber) => connections.get(subscriber)?.subscriptions.size ?? 0,
      counters: () => ({ subscriptions, eventsSent, eventsDropped, slowConsumersClosed }),
      drain: (maxMs) =>
        Effect.interruptible(
          Effect.repeat(Effect.zipLeft(idle, Effect.sleep(1)), { until: (done) => done }).pipe(
            Effect.timeoutOption(maxMs),
          ),
        ).pipe(Effect.asVoid),
    };
  });
