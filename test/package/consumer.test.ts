/**
 * The package as a user gets it: `npm pack`, installed into a fresh project, imported by plain
 * `node` (no TypeScript loader) and type-checked by `tsc --strict` under NodeNext. The project's
 * node_modules starts with hard links to the dependencies this repository already installed (see
 * installed-dependencies.ts); the tarball itself is installed by npm every time.
 */
import { execFile, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDependencies } from "../support/installed-dependencies.ts";

const exec = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");
const fixtures = join(repo, "test/package/fixtures");
const tsc = join(repo, "node_modules/typescript/bin/tsc");
let project = "";
let files: ReadonlyArray<string> = [];
let readmeBlocks: ReadonlyArray<string> = [];

beforeAll(async () => {
  // On disk beside this repository (not the run's in-memory scratch folder): its packages are
  // hard-linked from this repository's node_modules, which only works on the same file system.
  project = mkdtempSync(join(process.env.ARBOR_TEST_DISK_TMPDIR ?? tmpdir(), "arbor-consumer-"));
  // --ignore-scripts: dist/ is already built by the test setup; packing must not rebuild it.
  const { stdout } = await exec(
    "npm",
    ["pack", "--json", "--ignore-scripts", "--pack-destination", project],
    {
      cwd: repo,
    },
  );
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = packed!.files.map((f) => f.path);
  writeFileSync(
    join(project, "package.json"),
    // A consumer that already uses zod (for tool parameters) and Node's types.
    JSON.stringify({
      name: "consumer",
      type: "module",
      private: true,
      dependencies: { zod: "^4.0.0" },
      devDependencies: { "@types/node": "^20.0.0" },
    }),
  );
  // The dependencies `npm ci` installed here: npm then installs the tarball itself and checks
  // every range, with little else to unpack.
  seedDependencies(project, ["zod", "@types/node"]);
  await exec(
    "npm",
    ["install", join(project, packed!.filename), "--prefer-offline", "--no-audit", "--no-fund"],
    {
      cwd: project,
    },
  );
  for (const name of ["app.mjs", "good.ts", "bad.ts"])
    copyFileSync(join(fixtures, name), join(project, name));
  // The README's TypeScript examples, type-checked as a consumer writes them.
  const readme = readFileSync(join(repo, "README.md"), "utf8");
  readmeBlocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  readmeBlocks.forEach((code, i) => {
    writeFileSync(join(project, `readme-${i}.ts`), `${code}\nexport {};\n`);
  });
  const options = {
    strict: true,
    module: "NodeNext",
    target: "ES2022",
    noEmit: true,
    types: ["node"],
    skipLibCheck: true,
  };
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({ compilerOptions: options, include: ["good.ts", "readme-*.ts", "bad.ts"] }),
  );
});

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

/**
 * `tsc -p tsconfig.json` in the consumer, run once for the tests that need it: its errors, one per
 * line, for good.ts, the README's examples and bad.ts together (each file is checked on its own
 * merits, so one program gives every file's verdict).
 */
let checked: Promise<ReadonlyArray<string>> | undefined;
const typeErrors = () => {
  checked ??= exec("node", [tsc, "-p", "tsconfig.json"], { cwd: project }).then(
    () => [],
    (error: { stdout: string }) => {
      const lines = error.stdout.split("\n").filter((line) => /error TS\d+/.test(line));
      if (lines.length === 0) throw error; // tsc failed without a verdict on the files
      return lines;
    },
  );
  return checked;
};

describe("the packed arbor-agents package", () => {
  it("ships the compiled package and docs, not tests, benches or data", () => {
    expect(files).toEqual(
      expect.arrayContaining([
        "dist/index.js",
        "dist/index.d.ts",
        "bin/arbor.mjs",
        "inspector/index.html",
        "inspector/app.js",
        "knowledge/assets/use-static-512.bin",
        "dist/pgdata-seed.tar.gz",
        "dist/pgdata-seed.json",
      ]),
    );
    expect(
      files.filter(
        (f) => /^(test|bench|\.ci|\.arbor|examples)\//.test(f) || (f.endsWith(".ts") && !f.endsWith(".d.ts")),
      ),
    ).toEqual([]);
  });

  it("runs a tree with a tool() from plain node, importing arbor-agents", async () => {
    const { stdout } = await exec("node", ["app.mjs"], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({
      status: "completed",
      output: "report: sunny in Lisbon (asked by /consumer/lead)",
    });
  });

  it("the README's TypeScript examples import arbor-agents and type-check in a consumer", async () => {
    expect(readmeBlocks.length).toBeGreaterThanOrEqual(3);
    for (const code of readmeBlocks) expect(code).toMatch(/from "arbor-agents"/);
    expect((await typeErrors()).filter((line) => line.startsWith("readme-"))).toEqual([]);
  });

  it("type-checks a strict NodeNext consumer, and refuses a misspelled kind and mistyped tool args", async () => {
    const errors = await typeErrors();
    expect(errors.filter((line) => !line.startsWith("bad.ts") && !line.startsWith("readme-"))).toEqual([]);
    const refused = errors.filter((line) => line.startsWith("bad.ts")).join("\n");
    expect(refused).toMatch(/bad\.ts\(6,\d+\): error TS2820: Type '"mikro"' is not assignable/);
    expect(refused).toMatch(
      /bad\.ts\(12,\d+\): error TS2551: Property 'toFixed' does not exist on type 'string'/,
    );
  });

  it("runs `npx arbor serve` from the consumer, serving the web inspector's page and its modules", async () => {
    // Its own process group: npx does not pass SIGTERM on to the server it started.
    const child = spawn("npx", ["--no-install", "arbor", "serve", "--port", "0", "--no-memory", "--json"], {
      cwd: project,
      detached: true,
    });
    try {
      const listening = await new Promise<{ inspector: string }>((resolve, reject) => {
        let stdout = "";
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          const line = stdout.split("\n").find((l) => l.includes('"serve.listening"'));
          if (line) resolve(JSON.parse(line));
        });
        child.on("exit", (code) => reject(new Error(`arbor serve exited with ${code}`)));
      });
      const page = await fetch(listening.inspector);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>Arbor inspector</title>");
      for (const asset of ["inspector/app.js", "inspector/vendor/preact.mjs", "inspector/vendor/htm.mjs"])
        expect((await fetch(`${listening.inspector}${asset}`)).status).toBe(200);
    } finally {
      const exited = new Promise((resolve) => child.on("exit", resolve));
      process.kill(-child.pid!, "SIGTERM");
      await exited;
    }
  });

  it("installs the arbor command: --version answers", async () => {
    const { stdout } = await exec("npx", ["--no-install", "arbor", "--version"], { cwd: project });
    expect(stdout).toMatch(/^arbor \d+\.\d+\.\d+/);
  });
});
