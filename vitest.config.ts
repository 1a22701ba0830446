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
  },
});
