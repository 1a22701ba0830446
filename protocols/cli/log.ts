/**
 * `arbor serve`'s structured logs: one JSON object per line on stderr (pino), with the trace id of
 * the event that caused it. The level comes from `ARBOR_LOG_LEVEL`, else the config's `log.level`,
 * else `info`.
 *
 * What is never logged: an agent's input or output, tool arguments and results, handoff tasks (the
 * text people and models wrote), and anything shaped like a secret or an email address in the
 * fields that are kept; configured keys and tokens are masked wherever they appear.
 */
import { Either } from "effect";
import pino, { type Logger } from "pino";
import type { ArborEvent, EventBus } from "../../runtime/events.ts";

/** The levels, most severe first; `silent` logs nothing. */
export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
/** One of `logLevels`. */
export type LogLevel = (typeof logLevels)[number];

type Env = Readonly<Record<string, string | undefined>>;

const isLevel = (value: unknown): value is LogLevel =>
  typeof value === "string" && (logLevels as ReadonlyArray<string>).includes(value);

/** The level from env, then config (`{ log: { level } }`); a bad value says where it came from. */
export const resolveLogLevel = (
  config: Readonly<Record<string, unknown>>,
  env: Env,
): Either.Either<LogLevel, string> => {
  const fromEnv = env.ARBOR_LOG_LEVEL?.trim().toLowerCase();
  if (fromEnv !== undefined && fromEnv !== "")
    return isLevel(fromEnv)
      ? Either.right(fromEnv)
      : Either.left(`ARBOR_LOG_LEVEL=${fromEnv} is not a level (${logLevels.join(", ")})`);
  const section = config.log;
  if (section === undefined) return Either.right("info");
  const level =
    typeof section === "object" && section !== null ? (section as { level?: unknown }).level : undefined;
  if (level === undefined) return Either.right("info");
  return isLevel(level)
    ? Either.right(level)
    : Either.left(`$.log.level: expected one of ${logLevels.join(", ")}, got ${JSON.stringify(level)}`);
};

const emailPattern = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
/** Provider-style keys (`sk-…`, `gsk_…`, `AIza…`) and long opaque tokens. */
const secretPattern =
  /\b(?:sk|pk|rk|gsk|xai|key|tok)[-_][A-Za-z0-9_-]{8,}|\bAIza[A-Za-z0-9_-]{20,}|\b[A-Za-z0-9_-]{32,}\b/g;
const hexId = /^[0-9a-f]{16,32}$/;

/** The secrets this process was given: provider keys and server tokens, from the environment. */
export const secretsFromEnv = (env: Env): ReadonlyArray<string> =>
  Object.entries(env)
    .filter(([name]) => /(_API_KEYS?(_\d+)?|_TOKENS?|_SECRET)$/.test(name))
    .flatMap(([, value]) => (value ?? "").split(","))
    .map((s) => s.trim())
    .filter((s) => s.length >= 8);

const secretKey = /^(api_?keys?|tokens?|secrets?|password|authorization)$/i;

/** The secrets in a config file: every string under a key named like `apiKey(s)`, `token(s)`, `secret`. */
export const secretsFromConfig = (config: unknown): ReadonlyArray<string> => {
  const found: Array<string> = [];
  const walk = (value: unknown, underSecret: boolean): void => {
    if (typeof value === "string") {
      if (underSecret && value.length >= 8) found.push(value);
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item, underSecret);
    } else if (typeof value === "object" && value !== null) {
      // Decided per key: `tokens: [{ token, tenant }]` masks the token, not the tenant's name.
      for (const [key, inner] of Object.entries(value)) walk(inner, secretKey.test(key));
    }
  };
  walk(config, false);
  return found;
};

/** Masks configured secrets, key-shaped strings and email addresses. Trace ids stay. */
export const scrubText = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("[secret]");
  return out
    .replace(emailPattern, "[email]")
    .replace(secretPattern, (match) => (hexId.test(match) ? match : "[secret]"));
};

/** Fields an event may keep in a log line; everything else (texts, args, results) is left out. */
const kept = new Set([
  "tree",
  "address",
  "requestId",
  "traceId",
  "kind",
  "role",
  "parent",
  "incarnation",
  "restarts",
  "delayMs",
  "strategy",
  "status",
  "normal",
  "policy",
  "capacity",
  "provider",
  "model",
  "key",
  "inputTokens",
  "outputTokens",
  "costUsd",
  "latencyMs",
  "outcome",
  "cached",
  "attempt",
  "from",
  "to",
  "untilMs",
  "scope",
  "limit",
  "stage",
  "tripwire",
  "measurement",
  "threshold",
  "action",
  "tool",
  "callId",
  "ok",
  "server",
  "retryInMs",
  "plugin",
  "version",
  "run",
  "step",
  "steps",
  "attempts",
  "reason",
  "tenant",
  "name",
]);

const warnings = new Set([
  "agent.failed",
  "agent.escalated",
  "agent.request_failed",
  "message.dropped",
  "key.cooldown",
  "circuit.opened",
  "budget.exceeded",
  "guardrail.blocked",
  "tripwire.triggered",
  "mcp.server.down",
  "listener.failed",
  "workflow.failed",
  "workflow.step.failed",
]);
const infos = new Set([
  "tree.started",
  "tree.stopped",
  "agent.restarted",
  "circuit.closed",
  "circuit.half_open",
  "provider.fallback",
  "plugin.loaded",
  "plugin.unloaded",
  "mcp.server.up",
  "workflow.started",
  "workflow.completed",
  "handoff",
]);

const levelOf = (event: ArborEvent): "warn" | "info" | "debug" => {
  if (warnings.has(event.type)) return "warn";
  if (event.type === "provider.call" && event.outcome === "error") return "warn";
  if (event.type === "tree.stopped" && event.status === "failed") return "warn";
  return infos.has(event.type) ? "info" : "debug";
};

/** The log line's fields for one event: kept fields only, strings scrubbed. */
export const eventFields = (event: ArborEvent, secrets: ReadonlyArray<string>): Record<string, unknown> => {
  const fields: Record<string, unknown> = { event: event.type, agentId: event.id };
  for (const [name, value] of Object.entries(event)) {
    if (!kept.has(name) || value === undefined) continue;
    fields[name] = typeof value === "string" ? scrubText(value, secrets) : value;
  }
  return fields;
};

/** The server's logger: JSON lines on stderr at `level`. */
export const makeLogger = (level: LogLevel, destination: number = 2): Logger =>
  pino(
    {
      level,
      base: { service: "arbor" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: destination, sync: true }),
  );

/** Logs every event at its level; returns what stops it. Debug lines cost nothing when not enabled. */
export const logEvents = (logger: Logger, events: EventBus, secrets: ReadonlyArray<string>): (() => void) =>
  events.listen((event) => {
    const level = levelOf(event);
    if (!logger.isLevelEnabled(level)) return;
    logger[level](eventFields(event, secrets), event.type);
  });
