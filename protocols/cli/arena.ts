/**
 * `arbor arena run <suite.yaml>`: runs an evaluation arena in process and prints the standings;
 * `arbor arena leaderboard <suite-name> --memory`: the standings kept in the knowledge store.
 * With `--memory` results are kept in the store, so standings build up across runs.
 */
import { parseArgs } from "node:util";
import { Cause, Effect, Exit } from "effect";
import type { Standing } from "../../agents/arena/leaderboard.ts";
import { leaderboard } from "../../agents/arena/leaderboard.ts";
import { runArena } from "../../agents/arena/run.ts";
import { type ArenaStore, makeMemoryArenaStore, makeSqlArenaStore } from "../../agents/arena/store.ts";
import { type ArborRuntime, makeAgentSystem } from "../../runtime/agent-system.ts";
import { loadConfig } from "../../runtime/config.ts";
import { loadSpecFile } from "../../runtime/spec/load.ts";
import { lateModelRouter, openMemory } from "../memory.ts";
import { defaultPlugins } from "../preset.ts";
import { type Command, ExitCode } from "./command.ts";
import { describeFlagError } from "./flags.ts";

const usage = `Usage: arbor arena run <suite.yaml> [--memory] [--json] [--config <file>]
       arbor arena leaderboard <suite-name> [--json] [--config <file>]

Runs an evaluation arena: every contender answers every task, each answer is scored (contains,
regex, jsonSchema, or a judge model), and the standings rank contenders by Elo and win rate.

Options:
  --memory           keep results in the knowledge store (embedded PGlite by default), so standings
                     build up across runs; leaderboard always reads the store
  --json             the standings (and each result) as JSON lines
  --config <file>    configuration file (default: ./arbor.config.json if present)

Examples:
  arbor arena run examples/arena/capitals.yaml
  arbor arena run examples/arena/capitals.yaml --memory
  arbor arena leaderboard capitals`;

const fail = (message: string, code: number = ExitCode.usage): number => {
  process.stderr.write(`arbor arena: ${message}\n`);
  return code;
};

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** The standings as an aligned table. */
export const formatStandings = (standings: ReadonlyArray<Standing>): string => {
  const rows = [
    ["#", "contender", "model", "elo", "win rate", "mean score", "tasks", "cost", "tokens", "p50 ms"],
    ...standings.map((s, i) => [
      String(i + 1),
      s.contender,
      s.model,
      String(s.elo),
      pct(s.winRate),
      s.meanScore.toFixed(2),
      String(s.tasks),
      `$${s.costUsd.toFixed(4)}`,
      String(s.tokens),
      String(Math.round(s.p50LatencyMs)),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
};

export const arenaCommand: Command = {
  name: "arena",
  summary: "run an evaluation arena and show the standings",
  usage,
  run: async (argv) => {
    const options = {
      json: { type: "boolean", default: false },
      memory: { type: "boolean", default: false },
      config: { type: "string" },
    } as const;
    let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
    try {
      parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    } catch (error) {
      return fail(`${describeFlagError(error, options)}\n(arbor arena --help lists the options)`);
    }
    const { values, positionals } = parsed;
    const [action, target] = positionals;
    if ((action !== "run" && action !== "leaderboard") || target === undefined || positionals.length !== 2)
      return fail(`expected "run <suite.yaml>" or "leaderboard <suite-name>"\n\n${usage}`);
    const persistent = values.memory || action === "leaderboard";
    const program = Effect.gen(function* () {
      const { config } = yield* loadConfig(values.config);
      let system: ArborRuntime | undefined;
      const memory = persistent
        ? yield* openMemory(
            config.knowledge,
            lateModelRouter(() => system?.models()),
          )
        : undefined;
      const store: ArenaStore = memory ? makeSqlArenaStore(memory.sql) : makeMemoryArenaStore();
      if (action === "leaderboard") return leaderboard(yield* store.results("local", target));
      const suite = yield* loadSpecFile(target);
      system = yield* makeAgentSystem({ plugins: defaultPlugins(config), config });
      const ran = yield* runArena(system, suite, {
        store,
        onResult: (r) => {
          if (values.json) process.stdout.write(`${JSON.stringify({ type: "arena.result", ...r })}\n`);
          else
            process.stderr.write(
              `  ${r.task} · ${r.contender}: ${r.score.toFixed(2)}${r.error ? ` (${r.error})` : ""}\n`,
            );
        },
      });
      return ran.standings;
    });
    const exit = await Effect.runPromiseExit(Effect.scoped(program));
    if (Exit.isFailure(exit)) {
      const failure = Cause.failureOption(exit.cause);
      if (failure._tag === "Some") return fail(failure.value.message);
      return fail(`internal error: ${Cause.pretty(exit.cause)}`, ExitCode.failed);
    }
    if (values.json)
      process.stdout.write(`${JSON.stringify({ type: "arena.standings", standings: exit.value })}\n`);
    else
      process.stdout.write(
        exit.value.length === 0 ? "no results for that suite yet\n" : `${formatStandings(exit.value)}\n`,
      );
    return ExitCode.ok;
  },
};
