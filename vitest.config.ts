import { defineConfig } from "vitest/config";
import { SlowFirstSequencer } from "./test/support/sequencer.ts";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Builds dist/ when stale: the CLI tests run the compiled `arbor` bin.
    globalSetup: ["./vitest.setup.ts"],
    // Hang guards, not speed limits: a test ends when what it awaits is ready, so these only bound
    // a test that never finishes. They are sized for the slowest honest case, a test starting
    // several `arbor` processes with embedded databases while both cores run other work.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // `expect.poll` returns as soon as its condition holds; the cap (vitest's default is 1 s) only
    // decides when a condition that never comes is reported, and must not trip on a busy machine.
    expect: { poll: { timeout: 30_000 } },
    // Two cores: PGlite and MCP child processes are heavy; keep parallelism modest.
    maxWorkers: 2,
    // One module registry per worker, not per file: every file imports Effect's barrel (which
    // loads fast-check too), and re-evaluating it per file was most of the suite's CPU time
    // (20 kernel/tools/guardrail files: 41 s of CPU isolated, 11 s shared). Tests build their own
    // runtimes, servers and databases, so nothing they assert lives in a shared module.
    isolate: false,
    // Slow files first even on a first run, and no database wait at the start (see the file).
    sequence: { sequencer: SlowFirstSequencer },
  },
});
