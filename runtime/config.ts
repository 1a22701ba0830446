/**
 * Loads the runtime configuration file (`arbor.config.json` in the working directory, or the file
 * given with `--config`). The file is a JSON object; each plugin validates its own section. A file
 * that was named explicitly must exist; the default one is optional. A top-level key that is not a
 * known section is refused by path with "did you mean …?", so a typo never silently does nothing.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Data, Effect } from "effect";
import type { Fault } from "./errors.ts";
import { didYouMean } from "./suggest.ts";

/** The sections a config file may hold (each read by its area; `$schema` is left for editors). */
export const configSections: ReadonlyArray<string> = [
  "providers",
  "profiles",
  "budgets",
  "cache",
  "routing",
  "guardrails",
  "tripwires",
  "tools",
  "mcp",
  "knowledge",
  "server",
  "agents",
  "approvals",
  "log",
];

/** One line per unknown top-level key; a tree spec given as config is said to be one. */
export const unknownSections = (config: Readonly<Record<string, unknown>>): ReadonlyArray<string> => {
  const unknown = Object.keys(config).filter((key) => key !== "$schema" && !configSections.includes(key));
  if (unknown.length === 0) return [];
  if ("root" in config && "name" in config)
    return ["this is a tree spec, not a config file: run it with `arbor run <spec>` (or tree.spawn)"];
  return unknown.map(
    (key) =>
      `$.${key}: unknown section${didYouMean(key, configSections) || ` (sections: ${configSections.join(", ")})`}`,
  );
};

export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly reason: "unreadable" | "not_json" | "not_object" | "unknown_section";
  readonly file: string;
  readonly detail: string;
}> {
  readonly fault: Fault = "config";
  override get message(): string {
    return `config file ${this.file}: ${this.detail}`;
  }
}

export interface LoadedConfig {
  readonly file: string | undefined;
  readonly config: Readonly<Record<string, unknown>>;
}

/** Reads the config file; `explicit` is the `--config` value when given. */
export const loadConfig = (
  explicit?: string,
  cwd = process.cwd(),
): Effect.Effect<LoadedConfig, ConfigError> =>
  Effect.suspend((): Effect.Effect<LoadedConfig, ConfigError> => {
    const file = resolve(cwd, explicit ?? "arbor.config.json");
    if (!explicit && !existsSync(file)) return Effect.succeed({ file: undefined, config: {} });
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      return Effect.fail(
        new ConfigError({
          reason: "unreadable",
          file,
          detail: `cannot read it (${(error as Error).message})`,
        }),
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return Effect.fail(
        new ConfigError({ reason: "not_json", file, detail: `not valid JSON: ${(error as Error).message}` }),
      );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      return Effect.fail(
        new ConfigError({
          reason: "not_object",
          file,
          detail: "must be a JSON object with sections such as providers, mcp, knowledge",
        }),
      );
    const problems = unknownSections(parsed as Record<string, unknown>);
    if (problems.length > 0)
      return Effect.fail(new ConfigError({ reason: "unknown_section", file, detail: problems.join("\n  ") }));
    return Effect.succeed({ file, config: parsed as Record<string, unknown> });
  });
