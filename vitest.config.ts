import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Builds dist/ when stale: the CLI tests run the compiled `arbor` bin.
    globalSetup: ["./vitest.setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: PGlite and MCP child processes are heavy; keep parallelism modest.
    maxWorkers: 2,
    // One module registry per worker, not per file: every file imports Effect's barrel (which
    // loads fast-check too), and re-evaluating it per file was most of the suite's CPU time
    // (20 kernel/tools/guardrail files: 41 s of CPU isolated, 11 s shared). Tests build their own
    // runtimes, servers and databases, so nothing they assert lives in a shared module.
    isolate: false,
  },
});
