/**
 * Bundles the command line (dist/protocols/cli, compiled by tsc) into one CommonJS file,
 * dist/cli.cjs, which `bin/arbor.mjs` loads for every command.
 *
 * Why: loading the CLI as ~900 separate ES modules (Effect alone is 600) cost ~2 s of CPU per
 * `arbor` process on this 2-core machine — resolving, reading and compiling each module — and the
 * test suite starts ~50 of them. One CommonJS file costs about half: no per-module resolution, and
 * V8 compiles a CommonJS function body lazily. Node 20 has no module compile cache to do this for us.
 *
 * What stays outside the bundle: packages that read files next to their own code (PGlite's wasm and
 * data, pgvector's archive, the sentence encoder's weights), packages only some set-ups load
 * (neo4j-driver, the OpenTelemetry SDK), and optional native add-ons that `pg` and `ws` probe for.
 * The library (`import … from "arbor-agents"`) stays the unbundled ES modules of dist/.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { build } from "esbuild";

// Code caches of an earlier bundle (bin/arbor.mjs names them by the bundle's time and size).
for (const name of readdirSync("dist")) if (/^cli\.cjs\..*\.v8cache$/.test(name)) rmSync(`dist/${name}`);

await build({
  entryPoints: ["dist/protocols/cli/index.js"],
  outfile: "dist/cli.cjs",
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  // Whitespace and syntax only (names stay readable in stack traces): a third less to parse at
  // every start (0.25 s of CPU against 0.38 s measured for loading the bundle).
  minifyWhitespace: true,
  minifySyntax: true,
  // `import()` of an external package becomes a `require` in a promise: bin/arbor.mjs compiles the
  // bundle as a vm.Script (for its code cache), where a real `import()` would need an experimental
  // loader. Every external package has a CommonJS entry point.
  supported: { "dynamic-import": false },
  external: [
    "@electric-sql/*",
    "@energetic-ai/*",
    "neo4j-driver",
    "@opentelemetry/*",
    "pg-native",
    "bufferutil",
    "utf-8-validate",
  ],
  // Bundled modules find the package's files from the bundle's own location (runtime/package-root.ts).
  define: { "import.meta.url": "__arborBundleUrl" },
  banner: { js: 'var __arborBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: "warning",
});

// Warm the code cache with a command that runs a tree, so it holds what such a run compiles, not
// only what the first command a user types happens to (bin/arbor.mjs writes it after a command).
// Only a speed-up: a failed warm-up leaves the build as it is (the first command writes the cache).
if (existsSync("examples/demo.json")) {
  try {
    execFileSync(process.execPath, ["bin/arbor.mjs", "run", "examples/demo.json", "--json"], {
      stdio: "ignore",
    });
  } catch (error) {
    process.stderr.write(
      `bundle-cli: warming the code cache failed (${String(error)}); the first command writes it instead\n`,
    );
  }
}
