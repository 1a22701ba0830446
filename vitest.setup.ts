/**
 * Vitest global setup: builds dist/ (the compiled package the `arbor` bin and the consumer test
 * use) when it is missing or older than a source file, so CLI tests always run current code; and
 * provides the created PGlite data dirs that tests copy instead of creating their own. When they
 * are missing (a fresh clone: making them is ~9 s of CPU on one core) a child process makes them
 * while the tests that need no database run (test/support/sequencer.ts starts two of those first).
 */
import { execFileSync, spawn } from "node:child_process";
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { TestProject } from "vitest/node";
import { isRunning } from "./knowledge/data-dir-lock.ts";
import { templatePaths, templateReady } from "./test/support/pglite-template.ts";

const sources = ["index.ts", "runtime", "plugins", "agents", "knowledge", "protocols"];

const newest = (path: string): number => {
  const stat = statSync(path);
  if (!stat.isDirectory()) return path.endsWith(".ts") ? stat.mtimeMs : 0;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
};

export default function setup(project: TestProject): () => Promise<void> {
  build();
  const scratch = scratchFolder();
  process.env.ARBOR_TEST_DISK_TMPDIR = tmpdir();
  process.env.TMPDIR = scratch;
  const removeScratch = () => rmSync(scratch, { recursive: true, force: true });
  const { bare, schema } = templatePaths();
  const failure = join(dirname(bare), `failed-${process.pid}.txt`);
  project.provide("pgliteTemplate", bare);
  project.provide("pgliteSchemaTemplate", schema);
  project.provide("pgliteTemplateFailure", failure);
  if (templateReady(bare) && templateReady(schema)) return async () => removeScratch();
  mkdirSync(dirname(bare), { recursive: true });
  const child = spawn(process.execPath, ["--import", "tsx", "test/support/build-templates.ts"], {
    stdio: ["ignore", "inherit", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<void>((resolve) => {
    child.on("error", (error) => {
      writeFileSync(failure, `could not start the template builder: ${error.message}\n`);
      resolve();
    });
    child.on("close", (code, signal) => {
      if (code !== 0) writeFileSync(failure, `${stderr}(exit ${code ?? signal})\n`);
      resolve();
    });
  });
  return async () => {
    await done;
    removeScratch();
    rmSync(failure, { force: true });
  };
}

/**
 * Every temporary folder of the run (the tests' own and those of the processes they start) goes
 * under one folder, removed when the run ends, passed or failed: a test that forgets to clean up
 * leaves nothing behind.
 *
 * That folder is in memory (`/dev/shm`, a tmpfs) where the machine has one with 4 GB free (a
 * container's is often 64 MB; then the disk's temporary folder serves). The tests copy ~40
 * created databases of ~40 MB and ~1,000 files each; on this machine's disk, deleting one after
 * PGlite used it blocked its test for 1.3–2.5 s (ext4 freeing the blocks written back meanwhile),
 * against ~0.05 s in memory. PGlite, the locks and the CLI behave the same on either file system.
 * A run killed before its end leaves its folder, so folders of runs whose process is gone are
 * removed first. The consumer test keeps its project on disk (ARBOR_TEST_DISK_TMPDIR), beside the
 * repository's packages, which it hard-links.
 */
const scratchFolder = (): string => {
  const memory = "/dev/shm";
  let root = tmpdir();
  try {
    accessSync(memory, constants.W_OK);
    // A container's /dev/shm is often 64 MB: use it only with room for the run's databases.
    const { bavail, bsize } = statfsSync(memory);
    if (bavail * bsize >= 4 * 1024 ** 3) root = memory;
  } catch {}
  for (const name of readdirSync(root)) {
    const pid = /^arbor-test-run-(\d+)-/.exec(name)?.[1];
    if (pid !== undefined && !isRunning(Number(pid)))
      rmSync(join(root, name), { recursive: true, force: true });
  }
  return mkdtempSync(join(root, `arbor-test-run-${process.pid}-`));
};

const build = (): void => {
  let built = 0;
  try {
    built = Math.min(statSync("dist/index.js").mtimeMs, statSync("dist/cli.cjs").mtimeMs);
  } catch {
    // not built yet
  }
  const inputs = [
    ...sources.map(newest),
    statSync("tsconfig.build.json").mtimeMs,
    statSync("scripts/bundle-cli.mjs").mtimeMs,
  ];
  // The seed cluster is made once per PGlite version (scripts/seed-data-dir.mjs keeps a matching one).
  if (built >= Math.max(...inputs) && existsSync("dist/pgdata-seed.json")) return;
  // The package's own build (tsc, the CLI bundle, the seed cluster), as `npm ci` runs it.
  execFileSync("npm", ["run", "--silent", "build"], { stdio: "inherit" });
};
