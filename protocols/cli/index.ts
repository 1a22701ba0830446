/**
 * The `arbor` command line: `--help`, `--version` and `help <command>` answer without loading any
 * command; each command's module is imported only when it runs (see registry.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../runtime/package-root.ts";
import { closest } from "../../runtime/suggest.ts";
import { ExitCode } from "./command.ts";
import { type CommandEntry, commands } from "./registry.ts";

const help = (): string =>
  [
    "arbor — supervised trees of AI agents",
    "",
    "Usage: arbor <command> [options]",
    "",
    ...commands.map((c) => `  ${c.name.padEnd(18)} ${c.summary}`),
    "",
    "  arbor help <command>   a command's options (also: arbor <command> --help)",
    "  arbor --version        the installed version",
  ].join("\n");

/** The package's version, from the package's own package.json (found from the sources, dist/ or the bundle). */
export const version = (): string => {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
};

const unknownCommand = (name: string): number => {
  const match = closest(
    name,
    commands.map((c) => c.name),
  );
  process.stderr.write(
    `arbor: unknown command "${name}"${match ? `; did you mean ${match}?` : ""}\nRun \`arbor --help\` for the commands.\n`,
  );
  return ExitCode.usage;
};

const find = (name: string): CommandEntry | undefined => commands.find((c) => c.name === name);

export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-v" || name === "version") {
    process.stdout.write(`arbor ${version()}\n`);
    return ExitCode.ok;
  }
  if (name === undefined || name === "--help" || name === "-h") {
    (name === undefined ? process.stderr : process.stdout).write(`${help()}\n`);
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === "help") {
    const topic = rest[0];
    if (topic === undefined) {
      process.stdout.write(`${help()}\n`);
      return ExitCode.ok;
    }
    const entry = find(topic);
    if (!entry) return unknownCommand(topic);
    process.stdout.write(`${(await entry.load()).usage}\n`);
    return ExitCode.ok;
  }
  if (name.startsWith("-")) {
    process.stderr.write(`arbor: unknown flag ${name}; a command comes first (arbor --help)\n`);
    return ExitCode.usage;
  }
  const entry = find(name);
  if (!entry) return unknownCommand(name);
  const command = await entry.load();
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${command.usage}\n`);
    return ExitCode.ok;
  }
  return command.run(rest);
};
