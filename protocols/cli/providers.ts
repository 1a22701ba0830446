/**
 * `arbor providers status`: which providers are configured, available or cooling, with per-key
 * counters. Keys appear only as fingerprints.
 */
import { parseArgs } from "node:util";
import { Effect, Either } from "effect";
import { formatProviderStatus, providersStatusFromConfig } from "../../plugins/providers/status.ts";
import { loadConfig } from "../../runtime/config.ts";
import { type Command, ExitCode } from "./command.ts";
import { describeFlagError } from "./flags.ts";

const usage = `Usage: arbor providers status [--json] [--config <file>]

Shows each provider: configured (a key or base URL is set), available, and keys cooling down.
Configure keys with <P>_API_KEY, <P>_API_KEYS (comma-separated) or <P>_API_KEY_1..N.`;

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
    const options = { json: { type: "boolean", default: false }, config: { type: "string" } } as const;
    let values: { json?: boolean; config?: string };
    try {
      ({ values } = parseArgs({ args: rest, options, strict: true, allowPositionals: false }));
    } catch (error) {
      process.stderr.write(
        `arbor providers: ${describeFlagError(error, options)}\n(arbor providers --help lists the options)\n`,
      );
      return ExitCode.usage;
    }
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
