/**
 * `arbor run <spec>`: runs a tree in process on the embedded defaults, gives the root its task,
 * and exits 0 when the root completes (1 when it fails, 2 for bad input). `--json` prints one event
 * per line and a final `run.summary` line.
 */

import { parseArgs } from "node:util";
import { Cause, Effect, Exit } from "effect";
import { workflowTask } from "../../agents/workflow/run.ts";
import { type ArborRuntime, makeAgentSystem } from "../../runtime/agent-system.ts";
import { loadConfig } from "../../runtime/config.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { runTree } from "../../runtime/run.ts";
import { loadSpecFile } from "../../runtime/spec/load.ts";
import { lateModelRouter, openMemory } from "../memory.ts";
import { defaultPlugins, describeModels } from "../preset.ts";
import { scopedTelemetry } from "../telemetry.ts";
import { approvePolicyOf, makeApprover } from "./approve-prompt.ts";
import { type Command, ExitCode } from "./command.ts";
import { runConnected } from "./connect.ts";
import { describeFlagError } from "./flags.ts";
import { describeEvent, LiveView } from "./live-view.ts";
import { redrawOn } from "./terminal.ts";

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
    const policy = approvePolicyOf(values.approve);
    if (policy === undefined) return fail(`--approve takes all or none, not "${values.approve}"`);
    if (values.connect !== undefined) {
      return runConnected(positionals[0]!, {
        url: values.connect,
        ...(values.token !== undefined ? { token: values.token } : {}),
        ...(values.input !== undefined ? { input: values.input } : {}),
        json: values.json,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        approve: policy,
      });
    }
    const json = values.json;
    const tty = !json && redrawOn(process.stdout);

    const program = Effect.gen(function* () {
      // Traces go to a collector when OTEL_* says where (docs/observability.md).
      yield* scopedTelemetry;
      const spec = yield* loadSpecFile(positionals[0]!);
      const { file, config } = yield* loadConfig(values.config);
      // Memory opens before the runtime, whose router (key pools, fallbacks) it embeds through.
      let system: ArborRuntime | undefined;
      const embeddings = lateModelRouter(() => system?.models());
      const memory = values.memory ? yield* openMemory(config.knowledge, embeddings) : undefined;
      const plugins = [
        ...defaultPlugins(config, {
          ...(values.config !== undefined ? { configFile: values.config } : {}),
          ...(memory ? { ledger: memory.ledger, keyStore: memory.keyStore } : {}),
        }),
        ...(memory ? [memory.plugin] : []),
      ];
      system = yield* makeAgentSystem({ plugins, config });
      if (!json) {
        process.stderr.write(`arbor: ${yield* describeModels(plugins, file)}\n`);
        if (memory) process.stderr.write(`arbor: ${memory.description}; usage ledger in the same database\n`);
      }
      let view: LiveView | undefined;
      const approvals = system.approvals;
      const approver = makeApprover(policy, {
        input: process.stdin,
        output: process.stderr,
        decide: (id, decision) =>
          Effect.runPromise(Effect.asVoid(approvals.decide(id, decision, "operator"))),
        pause: (paused) => view?.pause(paused),
      });
      yield* Effect.addFinalizer(() => Effect.sync(approver.close));
      system.events.listen((event: ArborEvent) => {
        if (json) process.stdout.write(`${JSON.stringify(event)}\n`);
        else if (view) view.event(event);
        else {
          const line = describeEvent(event);
          if (line) process.stdout.write(`${line}\n`);
        }
        // After the request is printed, so a decision made at once (--approve) prints after it.
        if (event.type === "approval.requested") approver.onRequested(event);
      });
      if (tty) {
        const started = Date.now();
        let seen: ReturnType<typeof system.trees>[number] | undefined;
        view = new LiveView(
          process.stdout,
          () => {
            // The tree leaves the runtime's list when it stops; keep it to draw its final state.
            seen ??= system.trees()[0];
            return seen?.inspect();
          },
          () => `arbor run ${positionals[0]}  ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      }
      const runtime = system;
      // A spec with a workflow runs its steps; otherwise the root gets the task.
      const hasWorkflow = typeof spec === "object" && spec !== null && "workflow" in spec;
      const summary = yield* runTree(system, spec, {
        ...(values.input !== undefined ? { input: values.input } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(hasWorkflow ? { task: (tree, input) => workflowTask(runtime, tree.treeId, input) } : {}),
        // The live view shows the root's answer growing.
        ...(tty ? { stream: true } : {}),
      });
      view?.finish();
      return summary;
    });

    const exit = await Effect.runPromiseExit(Effect.scoped(program));
    if (Exit.isFailure(exit)) {
      const failure = Cause.failureOption(exit.cause);
      if (failure._tag === "Some") {
        if (json)
          process.stdout.write(
            `${JSON.stringify({ type: "run.error", error: "_tag" in failure.value ? failure.value._tag : "Error", message: failure.value.message })}\n`,
          );
        return fail(failure.value.message, ExitCode.usage);
      }
      return fail(`internal error: ${Cause.pretty(exit.cause)}`, ExitCode.failed);
    }
    const summary = exit.value;
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(
        summary.status === "completed"
          ? `\n✓ completed in ${summary.durationMs} ms (${summary.restarts} restarts, ${summary.usage.inputTokens}+${summary.usage.outputTokens} tokens)\n\n${summary.output}\n`
          : `\n✗ ${summary.status}: ${summary.reason ?? "unknown reason"}\n`,
      );
    }
    return summary.status === "completed" ? ExitCode.ok : ExitCode.failed;
  },
};
