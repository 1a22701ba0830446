/**
 * The leaderboard of an arena: per contender its mean score, its record against every other
 * contender on the tasks both answered (the higher score wins a task; equal scores tie), its win
 * rate, an Elo rating from those pairwise games played in task order, and what it cost.
 */
import type { ArenaResult } from "./suite.ts";

export interface Standing {
  readonly contender: string;
  readonly model: string;
  readonly tasks: number;
  readonly meanScore: number;
  readonly wins: number;
  readonly losses: number;
  readonly ties: number;
  /** (wins + ties / 2) / games; 0 when it played none. */
  readonly winRate: number;
  readonly elo: number;
  readonly costUsd: number;
  readonly tokens: number;
  readonly p50LatencyMs: number;
}

const initialElo = 1000;
const k = 32;

const median = (values: ReadonlyArray<number>) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** Standings, best first (by Elo, then win rate, then mean score). */
export const leaderboard = (results: ReadonlyArray<ArenaResult>): ReadonlyArray<Standing> => {
  const byContender = new Map<string, ArenaResult[]>();
  for (const r of results) byContender.set(r.contender, [...(byContender.get(r.contender) ?? []), r]);
  const elo = new Map([...byContender.keys()].map((c) => [c, initialElo]));
  const record = new Map([...byContender.keys()].map((c) => [c, { wins: 0, losses: 0, ties: 0 }]));
  // Games: for each (run, task), every pair of contenders that answered it.
  const games = new Map<string, ArenaResult[]>();
  for (const r of [...results].sort((a, b) => a.time - b.time)) {
    const key = `${r.run}\u0000${r.task}`;
    games.set(key, [...(games.get(key) ?? []), r]);
  }
  for (const answers of games.values()) {
    for (let i = 0; i < answers.length; i++)
      for (let j = i + 1; j < answers.length; j++) {
        const a = answers[i]!;
        const b = answers[j]!;
        if (a.contender === b.contender) continue;
        const outcome = a.score === b.score ? 0.5 : a.score > b.score ? 1 : 0;
        const ra = elo.get(a.contender)!;
        const rb = elo.get(b.contender)!;
        const expected = 1 / (1 + 10 ** ((rb - ra) / 400));
        elo.set(a.contender, ra + k * (outcome - expected));
        elo.set(b.contender, rb + k * (1 - outcome - (1 - expected)));
        const recA = record.get(a.contender)!;
        const recB = record.get(b.contender)!;
        if (outcome === 0.5) {
          recA.ties++;
          recB.ties++;
        } else if (outcome === 1) {
          recA.wins++;
          recB.losses++;
        } else {
          recA.losses++;
          recB.wins++;
        }
      }
  }
  return [...byContender]
    .map(([contender, rs]) => {
      const { wins, losses, ties } = record.get(contender)!;
      const games = wins + losses + ties;
      return {
        contender,
        model: rs[rs.length - 1]!.model,
        tasks: rs.length,
        meanScore: rs.reduce((s, r) => s + r.score, 0) / rs.length,
        wins,
        losses,
        ties,
        winRate: games === 0 ? 0 : (wins + ties / 2) / games,
        elo: Math.round(elo.get(contender)!),
        costUsd: rs.reduce((s, r) => s + r.costUsd, 0),
        tokens: rs.reduce((s, r) => s + r.inputTokens + r.outputTokens, 0),
        p50LatencyMs: median(rs.map((r) => r.latencyMs)),
      };
    })
    .sort((a, b) => b.elo - a.elo || b.winRate - a.winRate || b.meanScore - a.meanScore);
};

/**
 * Ratings by model (`provider/model`) for routing by standing: the mean Elo of the contenders that
 * used each model, over every suite's standings given.
 */
export const ratingsByModel = (standings: ReadonlyArray<Standing>): ReadonlyMap<string, number> => {
  const sums = new Map<string, { total: number; count: number }>();
  for (const s of standings) {
    const seen = sums.get(s.model) ?? { total: 0, count: 0 };
    sums.set(s.model, { total: seen.total + s.elo, count: seen.count + 1 });
  }
  return new Map([...sums].map(([model, { total, count }]) => [model, total / count]));
};
