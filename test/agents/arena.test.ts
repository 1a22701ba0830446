/**
 * The evaluation arena: contenders answer a suite's tasks, each answer scored (containment, regex,
 * JSON Schema, a judge model); standings rank them by Elo and win rate across stored runs; results
 * kept in the SQL store per tenant; a bad suite is refused by path.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Effect, Either } from "effect";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  checkSuite,
  leaderboard,
  makeMemoryArenaStore,
  makeSqlArenaStore,
  ratingsByModel,
  runArena,
} from "../../agents/arena/index.ts";
import { judgeScore } from "../../agents/arena/score.ts";
import { makeRolesPlugin } from "../../agents/roles/plugin.ts";
import { makePgliteClient, openPglite } from "../../knowledge/sql-client.ts";
import { providersPlugin } from "../../plugins/providers/plugin.ts";
import { scriptedPlugin } from "../../plugins/providers/scripted.ts";
import { ArborClient } from "../../protocols/client/index.ts";
import { arenaMethods } from "../../protocols/ws/extra/arena.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import { loadSpecFile } from "../../runtime/spec/load.ts";
import { removeDataDir, seededDataDir } from "../support/seeded-data-dir.ts";
import { startRuntimeServer } from "../ws/runtime.ts";

describe("arena on the wire and the command line", () => {
  it("arena.run ranks a tenant's contenders and arena.leaderboard shows only that tenant's results", async () => {
    const tokenA = "token-for-tenant-a-0123456789";
    const tokenB = "token-for-tenant-b-0123456789";
    const running = await startRuntimeServer(
      {
        tokens: [
          { token: tokenA, tenant: "a" },
          { token: tokenB, tenant: "b" },
        ],
      },
      {},
      [makeRolesPlugin()],
      (system) => arenaMethods(system, makeMemoryArenaStore()),
    );
    const a = await ArborClient.connect(running.url, { token: tokenA });
    const b = await ArborClient.connect(running.url, { token: tokenB });
    try {
      const suite = await Effect.runPromise(loadSpecFile("examples/arena/capitals.yaml"));
      const ran = (await a.request("arena.run", { suite })) as { standings: Array<{ contender: string }> };
      expect(ran.standings.map((s) => s.contender)).toEqual(["careful", "sloppy"]);
      expect(
        ((await a.request("arena.leaderboard", { suite: "capitals" })) as { standings: unknown[] }).standings,
      ).toHaveLength(2);
      expect(
        ((await b.request("arena.leaderboard", { suite: "capitals" })) as { standings: unknown[] }).standings,
      ).toEqual([]);
      await expect(
        a.request("arena.run", { suite: { name: "x", contenders: [], tasks: [] } }),
      ).rejects.toMatchObject({
        code: -32602,
        data: {
          reason: "invalid_suite",
          problems: expect.arrayContaining([
            { path: "$.params.suite.contenders", message: "an arena needs at least two contenders" },
          ]),
        },
      });
    } finally {
      await a.close();
      await b.close();
      await running.close();
    }
  });

  it("arbor arena run prints the standings, best first", async () => {
    const { stdout } = await promisify(execFile)("node", [
      "bin/arbor.mjs",
      "arena",
      "run",
      "examples/arena/capitals.yaml",
      "--json",
    ]);
    const lines = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; standings?: Array<{ contender: string }> });
    expect(lines.filter((l) => l.type === "arena.result")).toHaveLength(8);
    expect(lines[lines.length - 1]!.standings!.map((s) => s.contender)).toEqual(["careful", "sloppy"]);
  });
});

describe("routing by arena standing", () => {
  it("orders a profile's candidates by their standing when routing.arenaBias is on", async () => {
    const served = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          let ratings: ReadonlyMap<string, number> = new Map();
          const config = {
            profiles: {
              pair: [
                { provider: "scripted", model: "a" },
                { provider: "scripted", model: "b" },
              ],
            },
            routing: { arenaBias: true },
          };
          const system = yield* makeAgentSystem({
            plugins: [scriptedPlugin, providersPlugin({ env: {}, standing: () => ratings })],
            config,
          });
          const calls: Array<string> = [];
          system.events.listen((e) => {
            if (e.type === "provider.call") calls.push(e.model);
          });
          const ask = (name: string) =>
            Effect.gen(function* () {
              const tree = yield* system.spawnTree({
                name,
                root: { name: "r", kind: "child", model: { profile: "pair", script: [{ text: "ok" }] } },
              });
              yield* system.ask(tree.root, "hi");
              yield* system.stopTree(tree.treeId);
            });
          yield* ask("before");
          const before = [...calls];
          // "b" answers right and "a" wrong: the arena ranks b first.
          const ran = yield* runArena(
            system,
            {
              name: "ab",
              contenders: [
                { name: "first", model: { provider: "scripted", model: "a", script: [{ text: "wrong" }] } },
                { name: "second", model: { provider: "scripted", model: "b", script: [{ text: "right" }] } },
              ],
              tasks: [{ id: "t", input: "?", scorer: { contains: "right" } }],
            },
            { store: makeMemoryArenaStore() },
          );
          ratings = ratingsByModel(ran.standings);
          calls.length = 0;
          yield* ask("after");
          return { before, standings: ran.standings.map((s) => s.model), after: calls };
        }),
      ),
    );
    expect(served.before).toEqual(["a"]);
    expect(served.standings).toEqual(["scripted/b", "scripted/a"]);
    expect(served.after).toEqual(["b"]);
  });
});

describe("the arena", () => {
  it("ranks the contender that answers right first, over two runs, with scores per scorer", async () => {
    const store = makeMemoryArenaStore();
    const { first, second } = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const system = yield* makeAgentSystem({ plugins: [scriptedPlugin, makeRolesPlugin()] });
          const suite = yield* loadSpecFile("examples/arena/capitals.yaml");
          const first = yield* runArena(system, suite, { store });
          const second = yield* runArena(system, suite, { store });
          return { first, second };
        }),
      ),
    );
    const scores = (contender: string) =>
      Object.fromEntries(
        first.results.filter((r) => r.contender === contender).map((r) => [r.task, r.score]),
      );
    expect(scores("careful")).toEqual({ france: 1, norway: 1, portugal: 1, confidence: 0.9 });
    expect(scores("sloppy")).toEqual({ france: 0, norway: 0, portugal: 0, confidence: 0.2 });
    expect(first.standings.map((s) => [s.contender, s.wins, s.losses, s.winRate])).toEqual([
      ["careful", 4, 0, 1],
      ["sloppy", 0, 4, 0],
    ]);
    expect(first.standings[0]!.elo).toBeGreaterThan(1000);
    expect(first.standings[0]!.model).toBe("scripted");
    // Standings build up across runs (the scripted contenders repeat their last line in the second).
    expect(second.standings[0]).toMatchObject({ contender: "careful", wins: 5, ties: 3, tasks: 8 });
    expect(second.standings[0]!.elo).toBeGreaterThan(second.standings[1]!.elo);
  });

  it("refuses a suite with one contender, a bad regex or no scorer, by path", () => {
    const result = checkSuite({
      name: "bad",
      contenders: [{ name: "only", model: { provider: "scripted" } }],
      tasks: [{ id: "t", input: "x" }],
    });
    expect(Either.isLeft(result) && result.left.problems).toEqual([
      { path: "$.contenders", message: "an arena needs at least two contenders" },
    ]);
    const scorers = checkSuite({
      name: "bad",
      contenders: [
        { name: "a", model: {} },
        { name: "b", model: {} },
      ],
      tasks: [
        { id: "t", input: "x", scorer: { regex: "(" } },
        { id: "u", input: "y" },
      ],
    });
    expect(Either.isLeft(scorers) && scorers.left.problems.map((p) => p.path)).toEqual([
      "$.tasks[0].scorer",
      "$.tasks[1].scorer",
    ]);
  });

  it("scores ties as half a win and reads a judge's score out of ten", () => {
    const base = {
      suite: "s",
      run: "r",
      output: "",
      model: "m",
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      latencyMs: 1,
    };
    const standings = leaderboard([
      { ...base, task: "t", contender: "a", score: 1, time: 1 },
      { ...base, task: "t", contender: "b", score: 1, time: 2 },
    ]);
    expect(standings.map((s) => [s.ties, s.winRate, s.elo])).toEqual([
      [1, 0.5, 1000],
      [1, 0.5, 1000],
    ]);
    expect(judgeScore("7 — mostly right")).toBe(0.7);
    expect(judgeScore("no idea")).toBeUndefined();
  });

  it("keeps results in the SQL store per tenant", async () => {
    const dataDir = seededDataDir("arbor-arena-");
    onTestFinished(() => removeDataDir(dataDir));
    const got = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const db = yield* openPglite(dataDir);
          const store = makeSqlArenaStore(yield* makePgliteClient(db));
          const r = {
            suite: "s",
            run: "r1",
            task: "t",
            contender: "a",
            model: "scripted",
            score: 1,
            output: "ok",
            inputTokens: 3,
            outputTokens: 2,
            costUsd: 0.001,
            latencyMs: 12,
            time: 5,
          };
          yield* store.record("acme", [r, { ...r, contender: "b", score: 0 }]);
          yield* store.record("other", [{ ...r, suite: "s", contender: "z" }]);
          return { acme: yield* store.results("acme", "s"), other: yield* store.results("other") };
        }),
      ),
    );
    expect(got.acme.map((r) => [r.contender, r.score, r.costUsd])).toEqual([
      ["a", 1, 0.001],
      ["b", 0, 0.001],
    ]);
    expect(got.other.map((r) => r.contender)).toEqual(["z"]);
  });
});
