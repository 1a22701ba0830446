/**
 * One process per embedded data dir: the folder's lock names its holder, refuses a second opener
 * while the holder runs, is released with the scope, and is taken over when its holder is gone.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Effect, Exit, Scope } from "effect";
import { describe, expect, it } from "vitest";
import { lockDataDir } from "../../knowledge/data-dir-lock.ts";

/** A data dir whose parent does not exist yet, as `./.arbor/data` on a fresh clone. */
const folder = () => join(mkdtempSync(join(tmpdir(), "arbor-lock-")), ".arbor", "data");

describe("the data dir lock", () => {
  it("refuses a second holder while the first holds it, and frees the folder when released", async () => {
    const dir = folder();
    const scope = Effect.runSync(Scope.make());
    await Effect.runPromise(lockDataDir(dir).pipe(Scope.extend(scope)));
    expect(JSON.parse(readFileSync(`${dir}.lock`, "utf8"))).toMatchObject({ pid: process.pid });
    const second = await Effect.runPromise(Effect.scoped(Effect.flip(lockDataDir(dir))));
    expect(second).toMatchObject({ reason: "locked", fault: "user" });
    expect(second.message).toContain(`is in use by process ${process.pid}`);
    await Effect.runPromise(Scope.close(scope, Exit.void));
    expect(existsSync(`${dir}.lock`)).toBe(false);
    await Effect.runPromise(Effect.scoped(lockDataDir(dir)));
  });

  it("takes over a lock whose process is gone (a SIGKILLed server)", async () => {
    const dir = folder();
    const gone = Number(execFileSync("node", ["-e", "process.stdout.write(String(process.pid))"]).toString());
    mkdirSync(dirname(dir), { recursive: true });
    writeFileSync(`${dir}.lock`, JSON.stringify({ pid: gone, command: "arbor serve", startedAt: "then" }));
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          yield* lockDataDir(dir);
          expect(JSON.parse(readFileSync(`${dir}.lock`, "utf8")).pid).toBe(process.pid);
        }),
      ),
    );
  });
});
