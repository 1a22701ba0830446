/**
 * `arbor mcp`: offers Arbor's tool registry to an MCP client over stdio, acting as a configured
 * agent identity (its kind and role decide which tools are visible). stdout belongs to the
 * protocol; messages for people go to stderr.
 */
import { parseArgs } from "node:util";
import { Cause, Effect, Exit } from "effect";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import { loadConfig } from "../../runtime/config.ts";
import type { AgentKind } from "../../runtime/events.ts";
import { mcpAgent, serveMcpStdio } from "../mcp/server.ts";
import { defaultPlugins } from "../preset.ts";
import { type Command, ExitCode } from "./command.ts";
import { describeFlagError } from "./flags.ts";

const usage = `Usage: arbor mcp [options]

Serves the tool registry to an MCP client over stdio.

Options:
  --role <role>      the agent role MCP clients act as (tools limited to roles need it)
  --kind <kind>      the agent kind they act as: parent, child (default) or micro
  --config <file>    configuration file (default: ./arbor.config.json if present)

Example (an MCP client's server entry):
  { "command": "npx", "args": ["arbor", "mcp", "--role", "researcher"] }`;

const fail = (message: string): number => {
  process.stderr.write(`arbor mcp: ${message}\n`);
  return ExitCode.usage;
};

export const mcpCommand: Command = {
  name: "mcp",
  summary: "offer the tool registry to MCP clients over stdio",
  usage,
  run: async (argv) => {
    const options = {
      role: { type: "string" },
      kind: { type: "string" },
      config: { type: "string" },
    } as const;
    let values: { role?: string; kind?: string; config?: string };
    try {
      ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
    } catch (error) {
      return fail(`${describeFlagError(error, options)}\n(arbor mcp --help lists the options)`);
    }
    const kind = values.kind ?? "child";
    if (kind !== "parent" && kind !== "child" && kind !== "micro")
      return fail(`--kind takes parent, child or micro, not "${kind}"`);
    const program = Effect.gen(function* () {
      const { config } = yield* loadConfig(values.config);
      const system = yield* makeAgentSystem({
        plugins: defaultPlugins(config, values.config !== undefined ? { configFile: values.config } : {}),
        config,
      });
      const agent = mcpAgent({
        kind: kind as AgentKind,
        ...(values.role !== undefined ? { role: values.role } : {}),
      });
      const served = yield* serveMcpStdio({ tools: system.tools, agent, ops: system.operatorOps });
      process.stderr.write(
        `arbor mcp: serving ${system.tools.visible(agent).length} tools over stdio as a ${kind}${values.role ? ` (${values.role})` : ""}\n`,
      );
      yield* served.closed;
    });
    const exit = await Effect.runPromiseExit(Effect.scoped(program));
    if (Exit.isSuccess(exit)) return ExitCode.ok;
    const failure = Cause.failureOption(exit.cause);
    return fail(failure._tag === "Some" ? failure.value.message : Cause.pretty(exit.cause));
  },
};
