/**
 * `arbor serve`: the runtime as a server. Embedded defaults (the default plugin preset, scripted
 * provider unless keys are configured, memory on an embedded PGlite), a WebSocket JSON-RPC
 * endpoint at `/rpc`, `/healthz` and `/metrics`. SIGINT/SIGTERM shut down gracefully and exit 0; a second signal exits at once.
 * Logs are JSON lines on stderr (`log.ts`); traces are exported when `OTEL_*` asks for it (`../telemetry.ts`).
 * This module reads the flags and the configuration and refuses a start it cannot make; the server
 * itself (serve-runtime.ts) loads only then, so a refused start answers without loading it.
 */
import { parseArgs } from "node:util";
import { Cause, Effect, Either, Exit } from "effect";
import { loadConfig } from "../../runtime/config.ts";
import { isLoopbackHost } from "../ws/auth.ts";
import { resolveServerOptions } from "../ws/options.ts";
import { type Command, ExitCode } from "./command.ts";
import { describeFlagError } from "./flags.ts";

const usage = `Usage: arbor serve [options]

Runs the Arbor runtime as a WebSocket JSON-RPC 2.0 server (see docs/server.md).

Options:
  --host <addr>      address to bind (default 127.0.0.1; anything else needs a token)
  --port <n>         port (default 7420; 0 picks a free one)
  --config <file>    configuration file (default: ./arbor.config.json if present)
  --json             print the listening address as one JSON line (for scripts)
  --no-memory        run without the knowledge graph (memory.* methods and memory tools)
  --mcp-role <role>  the agent role MCP clients of /mcp act as (tools limited to roles need it)

Auth: set ARBOR_TOKEN (or server.token / server.tokens in the config) to require a bearer token.
Without one, only loopback clients are accepted.

Logs: JSON lines on stderr; ARBOR_LOG_LEVEL (or log.level in the config) sets the level
(fatal, error, warn, info, debug, trace, silent; default info).
Traces: set OTEL_EXPORTER_OTLP_ENDPOINT (and OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_PROTOCOL, …) to
export spans over OTLP/HTTP; see docs/observability.md.

Examples:
  arbor serve
  ARBOR_TOKEN=$(openssl rand -hex 24) arbor serve --host 0.0.0.0 --port 7420
  arbor inspect --connect ws://127.0.0.1:7420/rpc`;

const fail = (message: string, code: number = ExitCode.usage): number => {
  process.stderr.write(`arbor serve: ${message}\n`);
  return code;
};

/** The `serve` command module. */
export const serveCommand: Command = {
  name: "serve",
  summary: "run the runtime as a WebSocket JSON-RPC server",
  usage,
  run: async (argv) => {
    const options = {
      host: { type: "string" },
      port: { type: "string" },
      config: { type: "string" },
      json: { type: "boolean", default: false },
      "no-memory": { type: "boolean", default: false },
      "mcp-role": { type: "string" },
    } as const;
    let values: {
      host?: string;
      port?: string;
      config?: string;
      json?: boolean;
      "no-memory"?: boolean;
      "mcp-role"?: string;
    };
    try {
      ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
    } catch (error) {
      return fail(`${describeFlagError(error, options)}\n(arbor serve --help lists the options)`);
    }
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65_535)) {
      return fail("--port takes a whole number from 0 to 65535");
    }

    // Everything that can refuse the start, before the server's modules load or anything opens.
    const checked = Effect.gen(function* () {
      const { file, config } = yield* loadConfig(values.config);
      const resolved = resolveServerOptions(config.server, process.env, {
        ...(values.host !== undefined ? { host: values.host } : {}),
        ...(port !== undefined ? { port } : {}),
      });
      if (Either.isLeft(resolved)) {
        return yield* Effect.fail(
          new Error(
            `invalid server settings:\n${resolved.left.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`,
          ),
        );
      }
      const serverOptions = resolved.right;
      if (serverOptions.tokens.length === 0 && !isLoopbackHost(serverOptions.host)) {
        // Checked before opening anything, so a refused start leaves nothing behind.
        return yield* Effect.fail(
          new Error(
            `refusing to listen on ${serverOptions.host} without a token: set ARBOR_TOKEN (or server.token) or bind 127.0.0.1`,
          ),
        );
      }
      if (serverOptions.durableTrees && values["no-memory"])
        return yield* Effect.fail(
          new Error(
            "server.durableTrees needs memory on: durable trees are kept in the memory database (drop --no-memory)",
          ),
        );
      return { file, config, serverOptions };
    });
    const exit = await Effect.runPromiseExit(checked);
    if (Exit.isFailure(exit)) {
      const failure = Cause.failureOption(exit.cause);
      if (failure._tag === "Some") return fail((failure.value as Error).message, ExitCode.usage);
      return fail(`internal error: ${Cause.pretty(exit.cause)}`, ExitCode.failed);
    }
    const { serveChecked } = await import("./serve-runtime.ts");
    return serveChecked({ ...exit.value, flags: values });
  },
};
