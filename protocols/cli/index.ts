/**
 * The `arbor` command line: dispatches to one module per command.
 */
import { benchCommand } from "./bench.ts";
import type { Command } from "./command.ts";
import { inspectCommand } from "./inspect.ts";
import { mcpCommand } from "./mcp.ts";
import { providersCommand } from "./providers.ts";
import { runCommand } from "./run.ts";
import { serveCommand } from "./serve.ts";

const commands: ReadonlyArray<Command> = [
  serveCommand,
  runCommand,
  inspectCommand,
  mcpCommand,
  providersCommand,
  benchCommand,
];

const help = (): string =>
  [
    "arbor — supervised trees of AI agents",
    "",
    "Usage: arbor <command> [options]",
    "",
    ...commands.map((c) => `  ${c.name.padEnd(18)} ${c.summary}`),
    "",
    "Run `arbor <command> --help` for a command's options.",
  ].join("\n");

export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${help()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name || c.name.startsWith(`${name} `));
  if (!command) {
    process.stderr.write(`arbor: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
};
