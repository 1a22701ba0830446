/**
 * Flag errors of the sub-commands (parsed by Node's strict `util.parseArgs`), with a "did you mean" for
 * an unknown flag, so `--jsno` answers `did you mean --json?` instead of only refusing it.
 */
import type { ParseArgsConfig } from "node:util";
import { closest } from "../../runtime/suggest.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The message for a parse failure, with the closest known flag when the flag was unknown. */
export const describeFlagError = (error: unknown, options: Options): string => {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '(-{1,2})([^'=]+)'/.exec(message);
  if (!unknown) return message;
  const flag = unknown[2]!;
  const known = Object.keys(options);
  const match = closest(flag, known);
  return match === undefined
    ? `unknown flag --${flag} (flags: ${known.map((k) => `--${k}`).join(", ")})`
    : `unknown flag --${flag}; did you mean --${match}?`;
};
