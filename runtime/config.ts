/**
 * Loads the runtime configuration file (`arbor.config.json` in the working directory, or the file
 * given with `--config`). The file is a JSON object; each plugin validates its own section. A file
 * that was named explicitly must exist; the default one is optional.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Data, Effect } from "effect";
import type { Fault } from "./errors.ts";

export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly reason: "unreadable" | "not_json" | "not_object";
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
    return Effect.succeed({ file, config: parsed as Record<string, unknown> });
  });
