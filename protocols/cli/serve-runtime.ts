/**
 * The server half of `arbor serve` (serve.ts reads the flags and the configuration first): logs,
 * traces, memory, the runtime with durable trees resumed, the WebSocket server with MCP and the
 * inspector; it runs until SIGINT or SIGTERM, then shuts down gracefully.
 */
import { Cause, Deferred, Effect, Either, Exit } from "effect";
import type { Logger } from "pino";
import { makeArenaStanding } from "../../agents/arena/standing.ts";
import { makeMemoryArenaStore, makeSqlArenaStore } from "../../agents/arena/store.ts";
import { type ArborRuntime, makeAgentSystem } from "../../runtime/agent-system.ts";
import type { LoadedConfig } from "../../runtime/config.ts";
import { AgentSystem } from "../../runtime/system.ts";
import { inspectorRoutes } from "../inspector/route.ts";
import { makeMcpHttpHandler, mcpAgent } from "../mcp/server.ts";
import { lateModelRouter, openMemory } from "../memory.ts";
import { defaultPlugins, describeModels } from "../preset.ts";
import { scopedTelemetry } from "../telemetry.ts";
import { operatorTenants } from "../ws/auth.ts";
import { arenaMethods } from "../ws/extra/arena.ts";
import { memoryRpcMethods } from "../ws/extra/memory.ts";
import { findProvidersPlugin, providerMethods } from "../ws/extra/providers.ts";
import { toolMethods } from "../ws/extra/tools.ts";
import { usageMethods } from "../ws/extra/usage.ts";
import { workflowMethods } from "../ws/extra/workflow.ts";
import type { WsServerOptions } from "../ws/options.ts";
import { type HttpRoute, makeWsServer } from "../ws/server.ts";
import { ExitCode } from "./command.ts";
import { firstStart } from "./first-start.ts";
import { logEvents, makeLogger, resolveLogLevel, secretsFromConfig, secretsFromEnv } from "./log.ts";

/** The flags `arbor serve` was given, read and checked. */
export interface ServeFlags {
  readonly host?: string;
  readonly port?: string;
  readonly config?: string;
  readonly json?: boolean;
  readonly "no-memory"?: boolean;
  readonly "mcp-role"?: string;
}

/** What serve.ts checked: the configuration, the server's settings, the flags. */
export interface CheckedServe {
  readonly file: string | undefined;
  readonly config: LoadedConfig["config"];
  readonly serverOptions: WsServerOptions;
  readonly flags: ServeFlags;
}

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

/** Runs the server until a signal; resolves with the exit code. */
export const serveChecked = async (checked: CheckedServe): Promise<number> => {
  const { file, config, serverOptions, flags: values } = checked;
  let log: Logger | undefined;
  const program = Effect.gen(function* () {
    const level = resolveLogLevel(config, process.env);
    if (Either.isLeft(level)) return yield* Effect.fail(new Error(`invalid log level: ${level.left}`));
    const logger = makeLogger(level.right);
    log = logger;
    const telemetry = yield* scopedTelemetry;
    if (telemetry) logger.info({ tracing: telemetry.description }, "arbor serve: tracing on");
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
};
