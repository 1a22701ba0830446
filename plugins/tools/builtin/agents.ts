/**
 * The built-in agent tools: `spawn_agent` (a parent or child starts a child or micro agent below
 * itself, within the tree's limits, which `AgentOps` enforces), `send_to_agent` (a message, or a
 * question awaiting the answer), and `handoff` (give a task to an existing agent or one created
 * for it; published as a `handoff` event, and recorded in the memory graph once that lands).
 */
import { Effect, Schema } from "effect";
import type { EventBus } from "../../../runtime/events.ts";
import type { ToolDefinition } from "../../../runtime/tool.ts";
import { withSpan } from "../../../runtime/tracing.ts";
import { defineTool } from "../define.ts";

const describe = (error: Error) => error.message;

const AgentSpecInput = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
  description:
    'an agent spec: {"name": "...", "kind": "child" | "micro", "role"?: "...", "instructions"?: "...", "model"?: {...}, "children"?: [...]}',
});

/** `spawn_agent`: parents and children only (a micro agent cannot spawn). */
export const spawnAgentTool: ToolDefinition = defineTool({
  name: "spawn_agent",
  description:
    "Start a new agent below you from an agent spec. Returns its address, which send_to_agent and handoff accept.",
  input: Schema.Struct({ spec: AgentSpecInput }),
  permissions: { kinds: ["parent", "child"] },
  run: ({ spec }, ctx) =>
    ctx.ops.spawn(spec).pipe(
      Effect.map((spawned) => ({ address: spawned.address, id: spawned.id })),
      Effect.mapError(describe),
    ),
});

/** `send_to_agent`: fire and forget, or `await: true` to wait for the answer (bounded by `timeoutMs`). */
export const sendToAgentTool: ToolDefinition = defineTool({
  name: "send_to_agent",
  description:
    "Send a message to another agent by address or id. With await: true, wait for its answer and return it; with thread, continue that conversation.",
  input: Schema.Struct({
    to: Schema.String,
    message: Schema.String,
    await: Schema.optional(Schema.Boolean),
    timeoutMs: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
    thread: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256))),
  }),
  run: ({ to, message, await: wait, timeoutMs, thread }, ctx) =>
    wait
      ? ctx.ops.ask(to, message, timeoutMs, thread).pipe(Effect.mapError(describe))
      : ctx.ops.send(to, message).pipe(Effect.as(`sent to ${to}`), Effect.mapError(describe)),
});

/**
 * `handoff`: gives a task to another agent, `to` an existing address or id, or `spec` to create the
 * target first. Publishes a `handoff` event from the handing agent. With `await: true` the target's
 * answer comes back as the result; otherwise the task is delivered and the tool returns at once.
 */
export const handoffTool = (events: EventBus): ToolDefinition =>
  defineTool({
    name: "handoff",
    description:
      "Hand a task over to another agent: give `to` (an existing agent's address) or `spec` (create it first).",
    input: Schema.Struct({
      to: Schema.optional(Schema.String),
      spec: Schema.optional(AgentSpecInput),
      task: Schema.String,
      reason: Schema.optional(Schema.String),
      await: Schema.optional(Schema.Boolean),
    }),
    run: ({ to, spec, task, reason, await: wait }, ctx) =>
      Effect.gen(function* () {
        if ((to === undefined) === (spec === undefined))
          return yield* Effect.fail("give exactly one of `to` (an existing agent) or `spec` (a new one)");
        const target =
          to !== undefined
            ? ctx.ops.resolve(to)
            : yield* ctx.ops.spawn(spec).pipe(
                Effect.mapError(describe),
                Effect.map((s) => s.address),
              );
        yield* events.publish({
          type: "handoff",
          tree: ctx.agent.tree,
          address: ctx.agent.address,
          id: ctx.agent.id,
          to: target,
          task,
          ...(reason === undefined ? {} : { reason }),
        });
        if (wait) return yield* ctx.ops.ask(target, task).pipe(Effect.mapError(describe));
        yield* ctx.ops.send(target, task).pipe(Effect.mapError(describe));
        return `handed off to ${target}`;
      }).pipe(
        withSpan("agent.handoff", () => ({
          "arbor.agent.address": ctx.agent.address,
          ...(to !== undefined ? { "arbor.handoff.to": to } : {}),
        })),
      ),
  });

/** The three agent tools. */
export const agentTools = (events: EventBus): ReadonlyArray<ToolDefinition> => [
  spawnAgentTool,
  sendToAgentTool,
  handoffTool(events),
];
