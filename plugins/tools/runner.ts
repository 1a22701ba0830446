/**
 * The tool runner the agent step calls. `visible` offers an agent only the tools it may use;
 * `call` runs one call and never fails: an unknown, forbidden, unavailable or guarded tool, invalid
 * arguments, a handler error, a timeout, a crash or an interruption all become exactly one
 * `ok: false` result the model can read. Every call publishes `tool.called` and `tool.result`
 * (values truncated for the event stream).
 */

import { Cause, Duration, Effect, Option } from "effect";
import type { AgentInfo } from "../../runtime/agent-info.ts";
import type { EventBus } from "../../runtime/events.ts";
import type { GuardrailRunner } from "../../runtime/guardrail.ts";
import type { ToolCall, ToolSpec } from "../../runtime/model.ts";
import { nestingProblem } from "../../runtime/nesting.ts";
import type { ToolContext, ToolDefinition, ToolResult, ToolRunner } from "../../runtime/tool.ts";
import { markSpanFailed, withSpan } from "../../runtime/tracing.ts";
import { approvalRequired, readToolSettings, type ToolSettings, toolAllowed } from "./settings.ts";

/** What the runner needs. */
export interface ToolRunnerOptions {
  /** The tools registered through the plugin host; read on every call. */
  readonly tools: () => ReadonlyArray<ToolDefinition>;
  readonly events: EventBus;
  /** When given, tool arguments and tool output pass the `tool` stage guardrails. */
  readonly guardrails?: GuardrailRunner;
  /** Timeout for tools that set none and agents whose spec sets none. Default 30 s. */
  readonly defaultTimeoutMs?: number;
  /** Longest value kept in `tool.called` / `tool.result` events. Default 2000 characters. */
  readonly maxEventChars?: number;
  /** The runtime config's `tools` level, for agents whose spec sets none. */
  readonly base?: ToolSettings;
}

const cache = new WeakMap<object, ToolSettings>();
const settingsFor = (agent: AgentInfo, base: ToolSettings | undefined): ToolSettings => {
  const raw = agent.settings.tools;
  if (typeof raw !== "object" || raw === null) return readToolSettings(raw, base);
  let settings = cache.get(raw);
  if (settings === undefined) {
    settings = readToolSettings(raw);
    cache.set(raw, settings);
  }
  return settings;
};

/** Whether the tool's own permissions admit the agent's kind and role. */
export const permitted = (tool: ToolDefinition, agent: AgentInfo): boolean => {
  const { kinds, roles } = tool.permissions ?? {};
  if (kinds !== undefined && !kinds.includes(agent.kind)) return false;
  if (roles !== undefined && (agent.role === undefined || !roles.includes(agent.role))) return false;
  return true;
};

/** Cuts a string to `max` characters, saying how much was left out. */
export const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max)}… [truncated ${text.length - max} characters]`;

/** Deepest nesting of objects and arrays accepted in a model's tool arguments. */
const maxArgsNesting = 64;

const show = (value: unknown): string =>
  typeof value === "string" ? value : (JSON.stringify(value) ?? "null");

/** Like `show`, but keeps JSON values as values in events when they are small enough. */
const forEvent = (value: unknown, max: number): unknown => {
  const text = show(value);
  return text.length <= max ? value : truncate(text, max);
};

/** Makes the runner. */
export const makeToolRunner = (options: ToolRunnerOptions): ToolRunner => {
  const maxEventChars = options.maxEventChars ?? 2000;
  const find = (name: string) => options.tools().find((tool) => tool.name === name);
  const settingsOf = (agent: AgentInfo) => settingsFor(agent, options.base);
  const usable = (tool: ToolDefinition, agent: AgentInfo) =>
    permitted(tool, agent) && toolAllowed(settingsOf(agent), tool.name);

  /** Per agent: the tools it may use out of one registered list, and the specs last offered. */
  const offered = new WeakMap<
    AgentInfo,
    {
      readonly all: ReadonlyArray<ToolDefinition>;
      readonly usable: ReadonlyArray<ToolDefinition>;
      shown: ReadonlyArray<ToolDefinition>;
      specs: ReadonlyArray<ToolSpec>;
    }
  >();
  const specsOf = (tools: ReadonlyArray<ToolDefinition>): ReadonlyArray<ToolSpec> =>
    tools.map((tool) => ({ name: tool.name, description: tool.description, inputSchema: tool.inputSchema }));
  /**
   * The same array step after step while the tools and their availability stay the same (a
   * provider sizes the list once per array).
   */
  const visible = (agent: AgentInfo): ReadonlyArray<ToolSpec> => {
    const all = options.tools();
    let entry = offered.get(agent);
    if (entry === undefined || entry.all !== all) {
      const usableTools = all.filter((tool) => usable(tool, agent));
      entry = { all, usable: usableTools, shown: usableTools, specs: specsOf(usableTools) };
      offered.set(agent, entry);
    }
    if (entry.usable.every((tool) => tool.available === undefined)) return entry.specs;
    const shown = entry.usable.filter((tool) => tool.available?.() ?? true);
    if (shown.length !== entry.shown.length || shown.some((tool, i) => tool !== entry.shown[i])) {
      entry.shown = shown;
      entry.specs = specsOf(shown);
    }
    return entry.specs;
  };

  /** Whether a model's call waits for a person: the spec's `tools.approve`, or the tool's own `needsApproval`. */
  const needsApproval = (tool: ToolDefinition, settings: ToolSettings, args: unknown, ctx: ToolContext) => {
    if (approvalRequired(settings, tool.name)) return Effect.succeed(true);
    const own = tool.needsApproval;
    if (own === undefined || typeof own === "boolean") return Effect.succeed(own === true);
    // A predicate that dies asks for approval: when in doubt, a person decides.
    return own(args, ctx).pipe(Effect.catchAllDefect(() => Effect.succeed(true)));
  };

  /** The arguments as people see them in `approval.requested`: through the tool-stage guardrails, as if leaving the machine. */
  const forDisplay = (call: ToolCall, agent: AgentInfo): Effect.Effect<unknown> => {
    const text = show(call.args);
    if (options.guardrails === undefined) return Effect.succeed(call.args);
    return options.guardrails
      .check({
        stage: "tool",
        text,
        agent,
        destination: "network",
        tool: { name: call.name, args: call.args },
      })
      .pipe(
        Effect.map((checked): unknown => {
          if (checked === text) return call.args;
          try {
            return JSON.parse(checked);
          } catch {
            return checked;
          }
        }),
        Effect.catchAll((violation) => Effect.succeed(`[withheld: ${violation.message}]`)),
      );
  };

  /**
   * Everything between `tool.called` and `tool.result`; fails with the message the model will read.
   * Plain checks, then one chain of effects (no generator): a fast tool's call is mostly this.
   */
  const execute = (call: ToolCall, ctx: ToolContext): Effect.Effect<string, string> =>
    Effect.suspend(() => {
      const agent = ctx.agent;
      const tool = find(call.name);
      if (tool === undefined) {
        const names = visible(agent).map((t) => t.name);
        return Effect.fail(
          `unknown tool "${call.name}"; tools you can call: ${names.length > 0 ? names.join(", ") : "none"}`,
        );
      }
      if (!usable(tool, agent))
        return Effect.fail(
          `tool "${call.name}" is not allowed for this agent (${agent.kind}${agent.role ? `, role ${agent.role}` : ""})`,
        );
      if (!(tool.available?.() ?? true))
        return Effect.fail(
          `tool "${call.name}" is unavailable right now (its server is restarting); try later`,
        );
      // Checked before anything walks them: describing or decoding recurses.
      const deep = nestingProblem(call.args, maxArgsNesting, "$.args");
      if (deep !== undefined)
        return Effect.fail(`invalid arguments for "${call.name}": ${deep.path}: ${deep.message}`);
      const settings = settingsOf(agent);
      const guard = (text: string, result: boolean) =>
        options.guardrails === undefined
          ? Effect.succeed(text)
          : options.guardrails
              .check({
                stage: "tool",
                text,
                agent,
                destination: result ? (ctx.destination ?? "local") : "local",
                tool: { name: call.name, args: call.args, ...(result ? { result } : {}) },
              })
              .pipe(
                Effect.mapError(
                  (v) => `${result ? "tool output withheld" : "tool call blocked"}: ${v.message}`,
                ),
              );
      const decode = (raw: unknown) =>
        tool
          .validate(raw)
          .pipe(
            Effect.mapError(
              (problem) =>
                `invalid arguments for "${call.name}": ${problem}\nexpected input schema: ${JSON.stringify(tool.inputSchema)}`,
            ),
          );
      /** The arguments to run with: as decoded, or as a person approved (maybe edited) them. */
      const approved = (args: unknown): Effect.Effect<unknown, string> => {
        const approve = ctx.approve;
        if (approve === undefined) return Effect.succeed(args);
        return Effect.flatMap(needsApproval(tool, settings, args, ctx), (needed) =>
          !needed
            ? Effect.succeed(args)
            : Effect.flatMap(forDisplay(call, agent), (displayArgs) =>
                Effect.flatMap(
                  approve({ tool: call.name, args: call.args, displayArgs, validate: tool.validate }),
                  (decision) =>
                    decision.decision === "deny"
                      ? Effect.fail(
                          `the call was denied by ${decision.by}${decision.reason ? `: ${decision.reason}` : " (no reason given)"}; it did not run`,
                        )
                      : decision.args !== undefined
                        ? decode(decision.args)
                        : Effect.succeed(args),
                ),
              ),
        );
      };
      const timeoutMs = Math.min(
        tool.timeoutMs ?? Number.POSITIVE_INFINITY,
        settings.timeoutMs ?? options.defaultTimeoutMs ?? 30_000,
      );
      const onTimeout = () => `tool "${call.name}" timed out after ${timeoutMs} ms`;
      const run = (args: unknown) =>
        (tool.runWithin !== undefined
          ? tool.runWithin(args, ctx, { timeoutMs, onTimeout })
          : tool.run(args, ctx).pipe(Effect.timeoutFail({ duration: Duration.millis(timeoutMs), onTimeout }))
        ).pipe(
          Effect.catchAllDefect((defect) =>
            Effect.fail(
              `tool "${call.name}" crashed: ${defect instanceof Error ? defect.message : String(defect)}`,
            ),
          ),
          Effect.flatMap((outcome) => guard(show(outcome), true)),
          Effect.map((text) =>
            settings.maxResultChars === undefined ? text : truncate(text, settings.maxResultChars),
          ),
        );
      return guard(show(call.args), false).pipe(
        Effect.zipRight(Effect.suspend(() => decode(call.args))),
        Effect.flatMap(approved),
        Effect.flatMap(run),
      );
    });

  const call = (toolCall: ToolCall, ctx: ToolContext): Effect.Effect<ToolResult> => {
    const origin = { tree: ctx.agent.tree, address: ctx.agent.address, id: ctx.agent.id };
    // The events show the values (stringified, cut): worked out only when someone listens.
    const finish = (ok: boolean, content: string, reason?: string) =>
      !options.events.wants("tool.result")
        ? Effect.void
        : options.events.publish({
            type: "tool.result",
            ...origin,
            tool: toolCall.name,
            callId: toolCall.id,
            ok,
            result: forEvent(content, maxEventChars),
            ...(reason === undefined ? {} : { reason }),
          });
    const outcome = Effect.matchCauseEffect(execute(toolCall, ctx), {
      onSuccess: (content): Effect.Effect<ToolResult> =>
        Effect.as(finish(true, content), { callId: toolCall.id, name: toolCall.name, ok: true, content }),
      onFailure: (cause) => {
        const failure = Cause.failureOption(cause);
        const message = Option.isSome(failure)
          ? failure.value
          : `tool "${toolCall.name}" failed: ${Cause.pretty(cause)}`;
        return finish(false, message, message.split("\n")[0]).pipe(
          Effect.zipRight(markSpanFailed("tool_error", message)),
          Effect.as({ callId: toolCall.id, name: toolCall.name, ok: false, content: message }),
        );
      },
    });
    return Effect.suspend(() =>
      options.events.wants("tool.called")
        ? Effect.zipRight(
            options.events.publish({
              type: "tool.called",
              ...origin,
              tool: toolCall.name,
              callId: toolCall.id,
              args: forEvent(toolCall.args, maxEventChars),
            }),
            outcome,
          )
        : outcome,
    ).pipe(
      Effect.onInterrupt(() =>
        finish(false, "interrupted: the agent stopped before the tool finished", "interrupted"),
      ),
      withSpan(`execute_tool ${toolCall.name}`, () => ({
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": toolCall.name,
        "gen_ai.tool.call.id": toolCall.id,
        "arbor.agent.address": ctx.agent.address,
        "arbor.tree": ctx.agent.tree,
      })),
    );
  };

  return { visible, call };
};
