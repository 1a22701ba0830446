/**
 * One process per embedded data dir. PGlite cannot share a folder between processes (two writers
 * corrupt it), so the folder is locked by a file beside it, `<dataDir>.lock`, created exclusively and
 * naming its holder (pid, command, start time). A second `arbor serve` or `arbor run --memory` on the
 * same folder is refused with who holds it. A lock left by a process that no longer runs (SIGKILL,
 * power loss) is taken over.
 *
 * Hand-written rather than `proper-lockfile`: that library decides staleness by mtime and keeps a
 * timer touching the file, but cannot say which process holds the lock, which is what a person needs.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { Effect, type Scope } from "effect";
import { StoreError } from "./errors.ts";

/** What the lock file says about its holder. */
export interface LockHolder {
  readonly pid: number;
  readonly command: string;
  readonly startedAt: string;
}

/** True while process `pid` runs (EPERM: it runs, under another user). */
export const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

const readHolder = (file: string): LockHolder | undefined => {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<LockHolder>;
    return typeof parsed.pid === "number" ? (parsed as LockHolder) : undefined;
  } catch {
    return undefined;
  }
};

const create = (file: string, holder: LockHolder): boolean => {
  try {
    const fd = openSync(file, "wx", 0o600);
    writeSync(fd, JSON.stringify(holder));
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
};

/** Takes the lock or says who has it; a lock whose holder is gone is replaced. */
const tryLock = (file: string, me: LockHolder): LockHolder | undefined => {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (create(file, me)) return undefined;
    const holder = readHolder(file);
    if (holder !== undefined && isRunning(holder.pid)) return holder;
    // Stale (its process is gone) or unreadable (a holder that died while writing): take it over.
    rmSync(file, { force: true });
  }
  return readHolder(file) ?? me;
};

/**
 * Holds the lock of `dataDir` for the scope. Gotcha: a lock is only as good as the pid it names:
 * after a reboot another process may have that pid, and then the lock must be removed by hand
 * (the error names the file).
 */
export const lockDataDir = (dataDir: string): Effect.Effect<void, StoreError, Scope.Scope> => {
  const file = `${dataDir.replace(/[/\\]+$/, "")}.lock`;
  const me: LockHolder = {
    pid: process.pid,
    command: process.argv.slice(1).join(" ").slice(0, 200),
    startedAt: new Date().toISOString(),
  };
  return Effect.acquireRelease(
    Effect.try({
      try: () => {
        // The first start creates the folder the data dir and its lock live in (`./.arbor`).
        mkdirSync(dirname(file), { recursive: true });
        return tryLock(file, me);
      },
      catch: (cause) =>
        new StoreError({
          reason: "connection_failed",
          store: "pglite",
          detail: `cannot lock ${dataDir} (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`,
        }),
    }).pipe(
      Effect.flatMap((holder) =>
        holder === undefined
          ? Effect.void
          : Effect.fail(
              new StoreError({
                reason: "locked",
                store: "pglite",
                detail: `${dataDir} is in use by process ${holder.pid} (${holder.command}, since ${holder.startedAt}); stop it first, or give this one another folder (ARBOR_DATA_DIR or knowledge.dataDir). If that process is not Arbor, remove ${file}`,
              }),
            ),
      ),
    ),
    () =>
      Effect.sync(() => {
        if (readHolder(file)?.pid === me.pid) rmSync(file, { force: true });
      }),
  );
};
