/**
 * The tool runner the agent step calls. `visible` offers an agent only the tools it may use;
 * `call` runs one call and never fails: an unknown, forbidden, unavailable or guarded tool, invalid
 * arguments, a handler error, a timeout, a crash or an interruption all become exactly one
 * `ok: false` result the model can read. Every call publishes `tool.called` and `tool.result`
 * (values truncated for the event stream).
 */

import { Cause, Duration, Effect, Exit, Option } from "effect";
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

  /** Everything between `tool.called` and `tool.result`; fails with the message the model will read. */
  const execute = (call: ToolCall, ctx: ToolContext): Effect.Effect<string, string> =>
    Effect.gen(function* () {
      const agent = ctx.agent;
      const tool = find(call.name);
      if (tool === undefined) {
        const names = visible(agent).map((t) => t.name);
        return yield* Effect.fail(
          `unknown tool "${call.name}"; tools you can call: ${names.length > 0 ? names.join(", ") : "none"}`,
        );
      }
      if (!usable(tool, agent))
        return yield* Effect.fail(
          `tool "${call.name}" is not allowed for this agent (${agent.kind}${agent.role ? `, role ${agent.role}` : ""})`,
        );
      if (!(tool.available?.() ?? true))
        return yield* Effect.fail(
          `tool "${call.name}" is unavailable right now (its server is restarting); try later`,
        );
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
      // Checked before anything walks them: describing or decoding recurses.
      const deep = nestingProblem(call.args, maxArgsNesting, "$.args");
      if (deep !== undefined)
        return yield* Effect.fail(`invalid arguments for "${call.name}": ${deep.path}: ${deep.message}`);
      yield* guard(show(call.args), false);
      const decode = (raw: unknown) =>
        tool
          .validate(raw)
          .pipe(
            Effect.mapError(
              (problem) =>
                `invalid arguments for "${call.name}": ${problem}\nexpected input schema: ${JSON.stringify(tool.inputSchema)}`,
            ),
          );
      let args = yield* decode(call.args);
      if (ctx.approve !== undefined && (yield* needsApproval(tool, settings, args, ctx))) {
        const displayArgs = yield* forDisplay(call, agent);
        const decision = yield* ctx.approve({
          tool: call.name,
          args: call.args,
          displayArgs,
          validate: tool.validate,
        });
        if (decision.decision === "deny")
          return yield* Effect.fail(
            `the call was denied by ${decision.by}${decision.reason ? `: ${decision.reason}` : " (no reason given)"}; it did not run`,
          );
        if (decision.args !== undefined) args = yield* decode(decision.args);
      }
      const timeoutMs = Math.min(
        tool.timeoutMs ?? Number.POSITIVE_INFINITY,
        settings.timeoutMs ?? options.defaultTimeoutMs ?? 30_000,
      );
      const onTimeout = () => `tool "${call.name}" timed out after ${timeoutMs} ms`;
      const timed =
        tool.runWithin !== undefined
          ? tool.runWithin(args, ctx, { timeoutMs, onTimeout })
          : tool.run(args, ctx).pipe(Effect.timeoutFail({ duration: Duration.millis(timeoutMs), onTimeout }));
      const outcome = yield* timed.pipe(
        Effect.catchAllDefect((defect) =>
          Effect.fail(
            `tool "${call.name}" crashed: ${defect instanceof Error ? defect.message : String(defect)}`,
          ),
        ),
      );
      const text = yield* guard(show(outcome), true);
      return settings.maxResultChars === undefined ? text : truncate(text, settings.maxResultChars);
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
    return Effect.gen(function* () {
      if (options.events.wants("tool.called"))
        yield* options.events.publish({
          type: "tool.called",
          ...origin,
          tool: toolCall.name,
          callId: toolCall.id,
          args: forEvent(toolCall.args, maxEventChars),
        });
      const exit = yield* Effect.exit(execute(toolCall, ctx));
      if (Exit.isSuccess(exit)) {
        yield* finish(true, exit.value);
        return { callId: toolCall.id, name: toolCall.name, ok: true, content: exit.value };
      }
      const failure = Cause.failureOption(exit.cause);
      const message = Option.isSome(failure)
        ? failure.value
        : `tool "${toolCall.name}" failed: ${Cause.pretty(exit.cause)}`;
      yield* finish(false, message, message.split("\n")[0]);
      yield* markSpanFailed("tool_error", message);
      return { callId: toolCall.id, name: toolCall.name, ok: false, content: message };
    }).pipe(
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
