/** One `arbor` sub-command. `run` returns the process exit code. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly run: (argv: ReadonlyArray<string>) => Promise<number>;
}

/** Exit codes: 0 success, 1 the work failed, 2 the user's input or config is wrong. */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;
