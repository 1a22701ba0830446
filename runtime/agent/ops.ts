/**
 * What a running agent can do through tools (`spawn_agent`, `send_to_agent`, `handoff`): spawn below
 * itself within the kind rules and limits, send and ask through the router. A target without a
 * leading `/` is resolved relative to the agent: its own child first, then a sibling. Every target is
 * resolved within the agent's tenant: another tenant's agents answer as agents that do not exist.
 */
import { Effect, Either } from "effect";
import { NotAllowed, Timeout } from "../errors.ts";
import type { AgentOps } from "../tool.ts";
import type { AgentCell } from "./cell.ts";

const resolveTarget = (cell: AgentCell, to: string): string => {
  const within = cell.tree.tenant;
  if (to.startsWith("/") || cell.tree.router.resolve(to, within)) return to;
  const child = `${cell.address}/${to}`;
  if (cell.tree.router.resolve(child, within)) return child;
  return cell.parent ? `${cell.parent.address}/${to}` : child;
};

export const agentOps = (cell: AgentCell): AgentOps => ({
  resolve: (to) => {
    const target = resolveTarget(cell, to);
    const found = cell.tree.router.resolve(target, cell.tree.tenant);
    return found ? found.address : target;
  },
  spawn: (spec) =>
    Effect.suspend((): Effect.Effect<{ address: string; id: string }, Error> => {
      if (!cell.supervisor)
        return Effect.fail(
          new NotAllowed({ reason: "kind", address: cell.address, detail: "a micro agent cannot spawn" }),
        );
      const supervisor = cell.supervisor;
      return Either.match(supervisor.spawn(spec), {
        onLeft: (error) => Effect.fail(error),
        onRight: (child) => {
          const tripwires = cell.tree.services.tripwires();
          const agent = cell.info;
          return Effect.all(
            [
              tripwires.observe({ metric: "spawn", value: 1, agent }),
              tripwires.observe({ metric: "children", value: supervisor.children.length, agent }),
              tripwires.observe({ metric: "depth", value: child.agent.depth, agent: child.info }),
            ],
            { discard: true },
          ).pipe(
            Effect.tapError((tripped) =>
              Effect.sync(() => {
                // The runtime applies the action: halt fails the spawning agent, stop-tree stops the tree.
                if (tripped.action === "stop-tree") cell.tree.stopTree(tripped.message);
                else queueMicrotask(() => cell.fail(tripped.message));
              }),
            ),
            Effect.as({ address: child.address, id: child.id }),
          );
        },
      });
    }),
  send: (to, message) =>
    Effect.suspend(() => cell.tree.router.send(resolveTarget(cell, to), message, cell.tree.tenant)),
  ask: (to, input, timeoutMs = 60_000, thread) =>
    Effect.suspend(() => {
      const target = resolveTarget(cell, to);
      return cell.tree.router
        .ask(target, input, cell.tree.tenant, thread !== undefined ? { thread } : {})
        .pipe(
          Effect.timeoutFail({
            duration: timeoutMs,
            onTimeout: () => new Timeout({ reason: "timeout", target, afterMs: timeoutMs }),
          }),
          Effect.map((reply) => reply.output),
        );
    }),
});
