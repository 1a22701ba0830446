/**
 * Runs an arena suite: one tree holds every contender as a child agent (with its model and role) and
 * the judges; each task is asked of every contender at once, each answer scored, timed and costed,
 * the results stored, and the suite's standings (across every stored run) returned.
 */
import { randomBytes } from "node:crypto";
import { Data, Effect, Either, Schema } from "effect";
import type { Problem } from "../../runtime/errors.ts";
import { problemsOf } from "../../runtime/problems.ts";
import type { AgentSystemService } from "../../runtime/system.ts";
import { leaderboard, type Standing } from "./leaderboard.ts";
import { score, scorerProblem } from "./score.ts";
import type { ArenaStore } from "./store.ts";
import { type ArenaResult, ArenaSuite, type Contender, type Scorer } from "./suite.ts";

/** A suite that does not check out; problems by path. */
export class ArenaInvalid extends Data.TaggedError("ArenaInvalid")<{
  readonly reason: "invalid_suite";
  readonly problems: ReadonlyArray<Problem>;
}> {
  readonly fault = "user" as const;
  override get message(): string {
    return `invalid arena suite:\n${this.problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`;
  }
}

/** Checks a suite; the typed suite or every problem by path. */
export const checkSuite = (raw: unknown): Either.Either<ArenaSuite, ArenaInvalid> => {
  const decoded = Schema.decodeUnknownEither(ArenaSuite, { errors: "all", onExcessProperty: "error" })(raw);
  if (Either.isLeft(decoded))
    return Either.left(
      new ArenaInvalid({
        reason: "invalid_suite",
        problems: problemsOf(decoded.left, { schema: ArenaSuite }),
      }),
    );
  const suite = decoded.right;
  const problems: Problem[] = [];
  const names = new Set<string>();
  suite.contenders.forEach((c, i) => {
    if (names.has(c.name))
      problems.push({ path: `$.contenders[${i}].name`, message: `duplicate contender "${c.name}"` });
    names.add(c.name);
  });
  if (suite.scorer !== undefined) {
    const problem = scorerProblem(suite.scorer);
    if (problem) problems.push({ path: "$.scorer", message: problem });
  }
  suite.tasks.forEach((t, i) => {
    if (t.scorer === undefined && suite.scorer === undefined)
      problems.push({
        path: `$.tasks[${i}].scorer`,
        message: "no scorer: give the task one, or the suite a default",
      });
    const problem = t.scorer === undefined ? undefined : scorerProblem(t.scorer);
    if (problem) problems.push({ path: `$.tasks[${i}].scorer`, message: problem });
  });
  return problems.length > 0
    ? Either.left(new ArenaInvalid({ reason: "invalid_suite", problems }))
    : Either.right(suite);
};

/** `openai/gpt-4o-mini`, `profile:cheap`, `scripted`: what the router knows a contender by. */
export const modelLabel = (model: Readonly<Record<string, unknown>>): string =>
  typeof model.profile === "string"
    ? `profile:${model.profile}`
    : `${String(model.provider ?? "?")}${typeof model.model === "string" ? `/${model.model}` : ""}`;

const agentOf = (c: Contender) => ({
  name: c.name,
  kind: "child",
  model: c.model,
  ...(c.role === undefined ? {} : { role: c.role }),
  ...(c.promptStyle === undefined ? {} : { promptStyle: c.promptStyle }),
  ...(c.instructions === undefined ? {} : { instructions: c.instructions }),
});

export interface ArenaRun {
  readonly run: string;
  readonly results: ReadonlyArray<ArenaResult>;
  /** Standings over every stored run of the suite, this one included. */
  readonly standings: ReadonlyArray<Standing>;
}

/** Runs a suite (checked first) as `tenant`, storing its results in `store`. */
export const runArena = (
  system: AgentSystemService,
  raw: unknown,
  options: {
    readonly store: ArenaStore;
    readonly tenant?: string;
    readonly onResult?: (r: ArenaResult) => void;
  },
) =>
  Effect.gen(function* () {
    const suite = yield* checkSuite(raw);
    const tenant = options.tenant ?? "local";
    const run = `arena_${randomBytes(5).toString("hex")}`;
    const scorers = suite.tasks.map((t) => (t.scorer ?? suite.scorer) as Scorer);
    const judges = [
      ...new Set(scorers.flatMap((s) => ("judge" in s ? [JSON.stringify(s.judge.model)] : []))),
    ];
    const judgeName = (model: Readonly<Record<string, unknown>>) =>
      `judge-${judges.indexOf(JSON.stringify(model)) + 1}`;
    const handle = yield* system.spawnTree(
      {
        name: `arena-${suite.name}`,
        root: {
          name: "arena",
          kind: "parent",
          model: { provider: "scripted", script: [{ text: "arena" }] },
          children: [
            ...suite.contenders.map(agentOf),
            ...judges.map((m, i) => ({ name: `judge-${i + 1}`, kind: "child", model: JSON.parse(m) })),
          ],
        },
      },
      { tenant },
    );
    const cost = new Map<string, number>();
    const stopListening = system.events.listen((event) => {
      if (event.type === "provider.call" && event.tree === handle.treeId)
        cost.set(event.address, (cost.get(event.address) ?? 0) + (event.costUsd ?? 0));
    });
    const results: ArenaResult[] = [];
    const body = Effect.forEach(
      suite.tasks,
      (task, i) =>
        Effect.forEach(
          suite.contenders,
          (contender) =>
            Effect.gen(function* () {
              const address = `${handle.root}/${contender.name}`;
              const costBefore = cost.get(address) ?? 0;
              const started = Date.now();
              const reply = yield* Effect.either(
                system.ask(
                  address,
                  task.input,
                  task.timeoutMs === undefined ? {} : { timeoutMs: task.timeoutMs },
                ),
              );
              const latencyMs = Date.now() - started;
              const output = Either.isRight(reply) ? reply.right.output : "";
              const scorer = scorers[i]!;
              const judged = Either.isRight(reply)
                ? yield* score(scorer, task.input, output, (prompt) =>
                    Effect.map(
                      system.ask(
                        `${handle.root}/${"judge" in scorer ? judgeName(scorer.judge.model) : ""}`,
                        prompt,
                      ),
                      (r) => r.output,
                    ),
                  )
                : { score: 0, note: reply.left.message };
              const result: ArenaResult = {
                suite: suite.name,
                run,
                task: task.id,
                contender: contender.name,
                model: modelLabel(contender.model),
                score: judged.score,
                output,
                ...(judged.note === undefined ? {} : { error: judged.note }),
                inputTokens: Either.isRight(reply) ? reply.right.usage.inputTokens : 0,
                outputTokens: Either.isRight(reply) ? reply.right.usage.outputTokens : 0,
                costUsd: (cost.get(address) ?? 0) - costBefore,
                latencyMs,
                time: Date.now(),
              };
              results.push(result);
              options.onResult?.(result);
            }),
          { concurrency: "unbounded", discard: true },
        ),
      { discard: true },
    );
    yield* Effect.ensuring(
      body,
      Effect.zipRight(
        Effect.sync(stopListening),
        Effect.ignore(system.stopTree(handle.treeId, "arena run finished")),
      ),
    );
    yield* options.store.record(tenant, results);
    const standings = leaderboard(yield* options.store.results(tenant, suite.name));
    return { run, results, standings } satisfies ArenaRun;
  });
