/**
 * `arbor serve`: the runtime as a server. Embedded defaults (the default plugin preset, scripted
 * provider unless keys are configured, memory on an embedded PGlite), a WebSocket JSON-RPC
 * endpoint at `/rpc`, `/healthz` and `/metrics`. SIGINT/SIGTERM shut down gracefully and exit 0; a second signal exits at once.
 * Logs are JSON lines on stderr (`log.ts`); traces are exported when `OTEL_*` asks for it (`../telemetry.ts`).
 */
import { parseArgs } from "node:util";
import { Cause, Deferred, Effect, Either, Exit } from "effect";
import type { Logger } from "pino";
import { makeArenaStanding } from "../../agents/arena/standing.ts";
import { makeMemoryArenaStore, makeSqlArenaStore } from "../../agents/arena/store.ts";
import { type ArborRuntime, makeAgentSystem } from "../../runtime/agent-system.ts";
import { loadConfig } from "../../runtime/config.ts";
import { AgentSystem } from "../../runtime/system.ts";
import { inspectorRoutes } from "../inspector/route.ts";
import { makeMcpHttpHandler, mcpAgent } from "../mcp/server.ts";
import { lateModelRouter, openMemory } from "../memory.ts";
import { defaultPlugins, describeModels } from "../preset.ts";
import { scopedTelemetry } from "../telemetry.ts";
import { isLoopbackHost, operatorTenants } from "../ws/auth.ts";
import { arenaMethods } from "../ws/extra/arena.ts";
import { memoryRpcMethods } from "../ws/extra/memory.ts";
import { findProvidersPlugin, providerMethods } from "../ws/extra/providers.ts";
import { toolMethods } from "../ws/extra/tools.ts";
import { usageMethods } from "../ws/extra/usage.ts";
import { workflowMethods } from "../ws/extra/workflow.ts";
import { resolveServerOptions } from "../ws/options.ts";
import { type HttpRoute, makeWsServer } from "../ws/server.ts";
import { type Command, ExitCode } from "./command.ts";
import { firstStart } from "./first-start.ts";
import { describeFlagError } from "./flags.ts";
import { logEvents, makeLogger, resolveLogLevel, secretsFromConfig, secretsFromEnv } from "./log.ts";

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

/** Resolves when the process gets SIGINT or SIGTERM; a second signal exits immediately. */
const untilSignal = (signalled: Deferred.Deferred<string>, log: Logger) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let count = 0;
      const handler = (signal: NodeJS.Signals) => {
        count += 1;
        if (count > 1) process.exit(ExitCode.failed);
        log.info({ signal }, `arbor serve: ${signal}: shutting down gracefully (again to force)`);
        Deferred.unsafeDone(signalled, Exit.succeed(signal));
      };
      process.on("SIGINT", handler);
      process.on("SIGTERM", handler);
      return handler;
    }),
    (handler) =>
      Effect.sync(() => {
        process.off("SIGINT", handler);
        process.off("SIGTERM", handler);
      }),
  );

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

    let log: Logger | undefined;
    const program = Effect.gen(function* () {
      const { file, config } = yield* loadConfig(values.config);
      const level = resolveLogLevel(config, process.env);
      if (Either.isLeft(level)) return yield* Effect.fail(new Error(`invalid log level: ${level.left}`));
      const logger = makeLogger(level.right);
      log = logger;
      const telemetry = yield* scopedTelemetry;
      if (telemetry) logger.info({ tracing: telemetry.description }, "arbor serve: tracing on");
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
      // Memory opens before the runtime, whose router (key pools, fallbacks) it embeds through.
      let system: ArborRuntime | undefined;
      const embeddings = lateModelRouter(() => system?.models());
      if (!values["no-memory"]) {
        const creating = firstStart(config.knowledge);
        if (creating) logger.info(`arbor serve: ${creating}`);
      }
      const memory = values["no-memory"] ? undefined : yield* openMemory(config.knowledge, embeddings);
      // The arena's results (kept with memory when it is open); the operator's steer routing.arenaBias.
      const arenaStore = memory ? makeSqlArenaStore(memory.sql) : makeMemoryArenaStore();
      const standing = makeArenaStanding(arenaStore);
      for (const tenant of operatorTenants) yield* standing.refresh(tenant);
      const plugins = [
        ...defaultPlugins(config, {
          ...(values.config !== undefined ? { configFile: values.config } : {}),
          ...(memory ? { ledger: memory.ledger, keyStore: memory.keyStore } : {}),
          standing: standing.ratings,
        }),
        ...(memory ? [memory.plugin] : []),
      ];
      system = yield* makeAgentSystem({
        plugins,
        config,
        ...(memory ? { durable: { store: memory.durableStore, byDefault: serverOptions.durableTrees } } : {}),
      });
      const running = system;
      yield* Effect.acquireRelease(
        Effect.sync(() =>
          logEvents(logger, running.events, [...secretsFromEnv(process.env), ...secretsFromConfig(config)]),
        ),
        (stop) => Effect.sync(stop),
      );
      // Durable trees come back before the server accepts a connection.
      const back = yield* system.resumeDurable();
      for (const tree of back.resumed)
        logger.info(
          { tree: tree.treeId, tasks: tree.tasks },
          `arbor serve: resumed durable tree ${tree.treeId} (${tree.tasks} task(s) to finish)`,
        );
      for (const tree of back.down)
        logger.error(
          { tree: tree.treeId, reason: tree.reason },
          `arbor serve: durable tree ${tree.treeId} stays down: ${tree.reason}`,
        );
      const providers = findProvidersPlugin(plugins);
      // MCP over Streamable HTTP: the tool registry for MCP clients, acting as one agent identity.
      const mcpRoute: HttpRoute = {
        path: "/mcp",
        operatorOnly: true,
        handle: makeMcpHttpHandler(
          {
            tools: system.tools,
            agent: mcpAgent(values["mcp-role"] !== undefined ? { role: values["mcp-role"] } : {}),
            ops: system.operatorOps,
          },
          yield* Effect.runtime<never>(),
        ),
      };
      const server = yield* makeWsServer(
        serverOptions,
        {
          ...toolMethods(system),
          ...workflowMethods(system),
          ...arenaMethods(system, arenaStore, (tenant) =>
            operatorTenants.has(tenant) ? standing.refresh(tenant) : Effect.void,
          ),
          ...(providers ? { ...providerMethods(providers), ...usageMethods(providers.ledger) } : {}),
          ...(memory
            ? memoryRpcMethods(memory.knowledge, () => ({
                router: system!.models(),
                guardrails: system!.guardrails(),
                ...(memory.answerModel ? { model: memory.answerModel } : {}),
              }))
            : {}),
        },
        [mcpRoute, ...inspectorRoutes({ rpcPath: serverOptions.path })],
      ).pipe(Effect.provideService(AgentSystem, system));
      const models = yield* describeModels(plugins, file);
      const base = `http://${new URL(server.url).host}`;
      if (values.json) {
        process.stdout.write(
          `${JSON.stringify({ type: "serve.listening", url: server.url, port: server.port, inspector: `${base}/` })}\n`,
        );
      } else {
        const auth =
          serverOptions.tokens.length === 0
            ? "loopback clients only (no token configured)"
            : `bearer token required (${serverOptions.tokens.length} token${serverOptions.tokens.length > 1 ? "s" : ""})`;
        process.stdout.write(
          [
            `arbor serve: listening on ${server.url}`,
            `  inspect  ${base}/   (the web inspector)`,
            `  health   ${base}/healthz    metrics ${base}/metrics`,
            `  mcp      ${base}/mcp (MCP Streamable HTTP: the tool registry, operator only)`,
            `  auth     ${auth}`,
            `  runtime  ${models}`,
            `  memory   ${memory ? memory.description.replace(/^memory: /, "") : "off (--no-memory)"}`,
            `  usage    ${memory ? "ledger and key state in the memory database (arbor usage)" : "in memory only (--no-memory): lost at exit"}`,
            `  connect  arbor inspect --connect ${server.url}`,
            `           node examples/ws-session.mjs ${server.url}`,
            "",
          ].join("\n"),
        );
      }
      logger.info({ url: server.url }, "arbor serve: listening");
      const signalled = yield* Deferred.make<string>();
      yield* untilSignal(signalled, logger);
      const signal = yield* Deferred.await(signalled);
      yield* server.shutdown(`server shutting down (${signal})`);
    });

    const exit = await Effect.runPromiseExit(Effect.scoped(program));
    if (Exit.isFailure(exit)) {
      const failure = Cause.failureOption(exit.cause);
      if (failure._tag === "Some") return fail((failure.value as Error).message, ExitCode.usage);
      return fail(`internal error: ${Cause.pretty(exit.cause)}`, ExitCode.failed);
    }
    if (log) log.info("arbor serve: stopped");
    else process.stderr.write("arbor serve: stopped\n");
    return ExitCode.ok;
  },
};
