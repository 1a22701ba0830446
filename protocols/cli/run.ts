/**
 * `arbor run <spec>`: runs a tree in process on the embedded defaults, gives the root its task,
 * and exits 0 when the root completes (1 when it fails, 2 for bad input). `--json` prints one event
 * per line and a final `run.summary` line. This module reads the flags only: the in-process run
 * (run-local.ts) or the remote one (connect.ts) loads once they are known to be good, so a
 * mistyped flag and `arbor help run` answer without loading the runtime.
 */

import { parseArgs } from "node:util";
import { type Command, ExitCode } from "./command.ts";
import { describeFlagError } from "./flags.ts";

const usage = `Usage: arbor run <spec.json|spec.yaml> [options]

Runs a tree in process and gives its root a task; a spec with a workflow runs the workflow's
steps instead (each step printed as it starts, retries, completes or is skipped).

Options:
  --input <text>     the root's task (default: root.input from the spec)
  --json             one JSON event per line on stdout, ending with a run.summary line
  --config <file>    configuration file (default: ./arbor.config.json if present)
  --timeout <ms>     give up after this long (default: no limit)
  --approve <all|none>  decide tool calls that need approval without asking (default: ask on
                     the terminal; without one, deny)
  --memory           open the knowledge graph (the memory.* tools, lineage); embedded PGlite by default
  --connect <url>    run on a remote server instead (ws://host:port/rpc)
  --token <token>    bearer token for --connect (default: $ARBOR_TOKEN)

Examples:
  arbor run examples/demo.json
  arbor run examples/crash-once.json --json
  arbor run examples/demo.json --input "Plan a three-day trip to Lisbon"
  arbor run examples/approval.json --approve none
  arbor run examples/research-pipeline.yaml --input "Edge caching for agent memory"`;

const fail = (message: string, code: number = ExitCode.usage): number => {
  process.stderr.write(`arbor run: ${message}\n`);
  return code;
};

export const runCommand: Command = {
  name: "run",
  summary: "run a tree in process and give its root a task",
  usage,
  run: async (argv) => {
    let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
    const options = {
      input: { type: "string" },
      json: { type: "boolean", default: false },
      config: { type: "string" },
      timeout: { type: "string" },
      connect: { type: "string" },
      token: { type: "string" },
      memory: { type: "boolean", default: false },
      approve: { type: "string" },
    } as const;
    try {
      parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    } catch (error) {
      return fail(`${describeFlagError(error, options)}\n(arbor run --help lists the options)`);
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1)
      return fail(`expected one spec file, got ${positionals.length}\n\n${usage}`);
    const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0))
      return fail("--timeout takes a positive number of milliseconds");
    const { approvePolicyOf } = await import("./approve-prompt.ts");
    const policy = approvePolicyOf(values.approve);
    if (policy === undefined) return fail(`--approve takes all or none, not "${values.approve}"`);
    if (values.connect !== undefined) {
      const { runConnected } = await import("./connect.ts");
      return runConnected(positionals[0]!, {
        url: values.connect,
        ...(values.token !== undefined ? { token: values.token } : {}),
        ...(values.input !== undefined ? { input: values.input } : {}),
        json: values.json,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        approve: policy,
      });
    }
    const { runLocal } = await import("./run-local.ts");
    return runLocal(positionals[0]!, {
      ...(values.input !== undefined ? { input: values.input } : {}),
      ...(values.config !== undefined ? { config: values.config } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      json: values.json,
      memory: values.memory,
      approve: policy,
    });
  },
};
