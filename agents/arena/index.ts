/** The evaluation arena: contenders answer a suite's tasks, scored; standings by win rate and Elo. */
export { leaderboard, ratingsByModel, type Standing } from "./leaderboard.ts";
export { ArenaInvalid, type ArenaRun, checkSuite, modelLabel, runArena } from "./run.ts";
export { judgeScore, score } from "./score.ts";
export { type ArenaStanding, makeArenaStanding } from "./standing.ts";
export { type ArenaStore, makeMemoryArenaStore, makeSqlArenaStore } from "./store.ts";
export { type ArenaResult, ArenaSuite, type ArenaTask, type Contender, type Scorer } from "./suite.ts";
