/**
 * A tiny in-test `AgentSystemService` for protocol-level tests only (framing, auth, limits,
 * shutdown): it has trees and owners but no agent behaviour — `ask` echoes, optionally after a
 * gate opens. Agent behaviour is tested end to end against the real runtime in e2e.test.ts.
 */
import { Deferred, Effect, FiberId } from "effect";
import { NotFound } from "../../runtime/errors.ts";
import { makeEventBus } from "../../runtime/events.ts";
import type { AgentNode, AgentSystemService, TreeSummary } from "../../runtime/system.ts";

export interface StubControls {
  readonly system: AgentSystemService;
  /** While closed, `ask` waits; opening releases every waiting ask. */
  readonly gate: { close: () => void; open: () => void };
  /** How many asks are waiting at the closed gate. */
  readonly waiting: () => number;
}

export const makeStubSystem = (): StubControls => {
  const bus = Effect.runSync(makeEventBus(() => Date.now()));
  const trees = new Map<string, TreeSummary>();
  let n = 0;
  let gate: Deferred.Deferred<void> | undefined;
  let waiting = 0;
  const find = (to: string) => {
    const treeId = to.split("/")[1] ?? "";
    const tree = trees.get(treeId);
    return tree ? Effect.succeed(tree) : Effect.fail(new NotFound({ reason: "agent_not_found", target: to }));
  };
  const system: AgentSystemService = {
    spawnTree: (spec, options) =>
      Effect.sync(() => {
        n += 1;
        const name = (spec as { name?: string }).name ?? "tree";
        const treeId = `${name}-${n}`;
        const root = `/${treeId}/root`;
        trees.set(treeId, {
          treeId,
          name,
          root,
          status: "running",
          agents: 1,
          startedAt: n,
          tenant: options?.tenant,
        });
        bus.publishSync({ type: "tree.started", tree: treeId, address: `/${treeId}`, id: treeId, name });
        return { treeId, name, root };
      }),
    listTrees: () => Effect.sync(() => [...trees.values()]),
    inspect: (treeId) => {
      const tree = trees.get(treeId);
      if (!tree) return Effect.fail(new NotFound({ reason: "tree_not_found", target: treeId }));
      const node: AgentNode = {
        id: `${treeId}-root`,
        address: tree.root,
        name: "root",
        kind: "micro",
        status: "running",
        state: "idle",
        restarts: 0,
        mailbox: { size: 0, capacity: 16, dropped: 0 },
        children: [],
      };
      return Effect.succeed(node);
    },
    stopTree: (treeId, reason) =>
      Effect.suspend(() =>
        trees.delete(treeId)
          ? Effect.sync(() =>
              bus.publishSync({
                type: "tree.stopped",
                tree: treeId,
                address: `/${treeId}`,
                id: treeId,
                reason: reason ?? "stopped",
                status: "stopped",
              }),
            )
          : Effect.fail(new NotFound({ reason: "tree_not_found", target: treeId })),
      ),
    treeOf: find,
    send: (to) => Effect.asVoid(find(to)),
    ask: (to, input) =>
      Effect.zipRight(
        find(to),
        Effect.suspend(() =>
          gate
            ? Effect.acquireUseRelease(
                Effect.sync(() => {
                  waiting += 1;
                }),
                () => Deferred.await(gate!),
                () =>
                  Effect.sync(() => {
                    waiting -= 1;
                  }),
              )
            : Effect.void,
        ).pipe(Effect.as({ output: `echo: ${input}`, usage: { inputTokens: 0, outputTokens: 0 } })),
      ),
    stopAgent: (to) => Effect.asVoid(find(to)),
    killAgent: (to) => Effect.asVoid(find(to)),
    stats: () =>
      Effect.sync(() => ({
        trees: trees.size,
        agentsLive: trees.size,
        messagesRouted: 0,
        messagesDropped: 0,
        restarts: 0,
        providerCalls: 0,
        tokens: 0,
        errors: 0,
      })),
    events: bus,
    providers: { get: () => undefined, names: () => [] },
    tools: {
      visible: () => [],
      call: (call) => Effect.succeed({ callId: call.id, name: call.name, ok: false, content: "" }),
    },
  };
  return {
    system,
    waiting: () => waiting,
    gate: {
      close: () => {
        gate ??= Deferred.unsafeMake<void>(FiberId.none);
      },
      open: () => {
        if (gate) Deferred.unsafeDone(gate, Effect.void);
        gate = undefined;
      },
    },
  };
};
