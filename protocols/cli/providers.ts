/**
 * `arbor providers status`: which providers are configured, available or cooling, with per-key
 * counters. Keys appear only as fingerprints. With `--connect`, a running server's live status
 * (`providers.status`, operator only): its pools, cooldowns, circuits and today's spend; without,
 * the status of the configuration and environment of this shell (every key ready, no counters).
 */
import { parseArgs } from "node:util";
import { Effect, Either } from "effect";
import {
  formatProviderStatus,
  type ProvidersStatus,
  providersStatusFromConfig,
} from "../../plugins/providers/status.ts";
import { loadConfig } from "../../runtime/config.ts";
import { ArborClient } from "../client/client.ts";
import { type Command, ExitCode } from "./command.ts";
import { describeFlagError } from "./flags.ts";
import { describeClientError } from "./inspect.ts";

const usage = `Usage: arbor providers status [--connect <url> [--token <token>]] [--json] [--config <file>]

Shows each provider: configured (a key or base URL is set), available, and keys cooling down.
Configure keys with <P>_API_KEY, <P>_API_KEYS (comma-separated) or <P>_API_KEY_1..N.

Without --connect the status is read from the configuration and environment of this shell, so
counters are zero. With --connect it is a running server's: live pools, cooldowns, circuits and
today's spend (operator only: loopback without a token, or the ARBOR_TOKEN holder).

Examples:
  arbor providers status
  arbor providers status --connect ws://127.0.0.1:7420/rpc`;

/** Prints a running server's status; exit 1 when it cannot be reached or refuses. */
const remoteStatus = async (url: string, tokenFlag: string | undefined, json: boolean): Promise<number> => {
  const token = tokenFlag ?? process.env.ARBOR_TOKEN;
  let client: ArborClient;
  try {
    client = await ArborClient.connect(url, token ? { token } : {});
  } catch (error) {
    process.stderr.write(`arbor providers: ${describeClientError(error)}\n`);
    return ExitCode.failed;
  }
  try {
    const status = (await client.request("providers.status", {})) as ProvidersStatus;
    process.stdout.write(json ? `${JSON.stringify(status)}\n` : `${formatProviderStatus(status)}\n`);
    return ExitCode.ok;
  } catch (error) {
    process.stderr.write(`arbor providers: ${describeClientError(error)}\n`);
    return ExitCode.failed;
  } finally {
    await client.close();
  }
};

export const providersCommand: Command = {
  name: "providers status",
  summary: "show providers and their keys (fingerprints only)",
  usage,
  run: async (argv) => {
    const [sub, ...rest] = argv;
    if (sub !== "status") {
      process.stderr.write(`arbor providers: unknown sub-command "${sub ?? ""}"\n\n${usage}\n`);
      return ExitCode.usage;
    }
    const options = {
      json: { type: "boolean", default: false },
      config: { type: "string" },
      connect: { type: "string" },
      token: { type: "string" },
    } as const;
    let values: { json?: boolean; config?: string; connect?: string; token?: string };
    try {
      ({ values } = parseArgs({ args: rest, options, strict: true, allowPositionals: false }));
    } catch (error) {
      process.stderr.write(
        `arbor providers: ${describeFlagError(error, options)}\n(arbor providers --help lists the options)\n`,
      );
      return ExitCode.usage;
    }
    if (values.connect !== undefined) return remoteStatus(values.connect, values.token, values.json ?? false);
    const result = await Effect.runPromise(
      Effect.either(
        Effect.flatMap(loadConfig(values.config), ({ config }) =>
          providersStatusFromConfig(config, process.env),
        ),
      ),
    );
    if (Either.isLeft(result)) {
      process.stderr.write(`arbor providers: ${result.left.message}\n`);
      return ExitCode.usage;
    }
    process.stdout.write(
      values.json ? `${JSON.stringify(result.right)}\n` : `${formatProviderStatus(result.right)}\n`,
    );
    return ExitCode.ok;
  },
};
