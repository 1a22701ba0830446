/**
 * Reads a tree spec file: JSON (`.json`) or YAML (`.yaml`, `.yml`). Parse errors name the file and
 * the position; validation is the compiler's job (it lists every problem by JSON path).
 */
import { readFileSync } from "node:fs";
import { Data, Effect } from "effect";
import { parse as parseYaml } from "yaml";
import type { Fault } from "../errors.ts";

export class SpecFileError extends Data.TaggedError("SpecFileError")<{
  readonly reason: "unreadable" | "unparsable";
  readonly file: string;
  readonly detail: string;
}> {
  readonly fault: Fault = "user";
  override get message(): string {
    return `spec file ${this.file}: ${this.detail}`;
  }
}

export const loadSpecFile = (file: string): Effect.Effect<unknown, SpecFileError> =>
  Effect.suspend(() => {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      return Effect.fail(
        new SpecFileError({
          reason: "unreadable",
          file,
          detail: `cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        }),
      );
    }
    try {
      return Effect.succeed(
        /\.ya?ml$/i.test(file) ? parseYaml(text, { maxAliasCount: 100 }) : JSON.parse(text),
      );
    } catch (error) {
      // The YAML parser recurses: a document nested thousands of levels deep overflows it.
      const detail = (error as Error).message.replace(
        /^Maximum call stack size exceeded/,
        "nested too deep to read (a spec nests at most 600 levels of objects and arrays)",
      );
      return Effect.fail(new SpecFileError({ reason: "unparsable", file, detail }));
    }
  });
