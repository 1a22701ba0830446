/**
 * An arena suite as data: contenders (a model — provider+model, a profile, or the scripted one — with an
 * optional role) answer the same tasks, and each answer is scored: exactly, by containment, by a
 * regular expression, by validity against a JSON Schema, or by a judge model through the router.
 */
import { Schema } from "effect";

const Name = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, {
    message: () => "a letter, then letters, digits, _ or - (at most 64)",
  }),
);
const ModelChoice = Schema.Record({ key: Schema.String, value: Schema.Unknown });

export const Scorer = Schema.Union(
  Schema.Struct({ exact: Schema.String }),
  Schema.Struct({ contains: Schema.String }),
  Schema.Struct({ regex: Schema.String }),
  Schema.Struct({ jsonSchema: Schema.Record({ key: Schema.String, value: Schema.Unknown }) }),
  Schema.Struct({
    judge: Schema.Struct({
      /** What the judge is told to look for; it answers with a score from 0 to 10. */
      rubric: Schema.String,
      model: ModelChoice,
    }),
  }),
);
export type Scorer = typeof Scorer.Type;

export const Contender = Schema.Struct({
  name: Name,
  model: ModelChoice,
  role: Schema.optional(Schema.String),
  promptStyle: Schema.optional(Schema.Literal("plain", "xml", "cot")),
  instructions: Schema.optional(Schema.String),
});
export type Contender = typeof Contender.Type;

export const ArenaTask = Schema.Struct({
  id: Name,
  input: Schema.String,
  /** Default: the suite's `scorer`. */
  scorer: Schema.optional(Scorer),
  timeoutMs: Schema.optional(Schema.Int.pipe(Schema.between(1, 600_000))),
});
export type ArenaTask = typeof ArenaTask.Type;

export const ArenaSuite = Schema.Struct({
  name: Name,
  description: Schema.optional(Schema.String),
  contenders: Schema.Array(Contender).pipe(
    Schema.minItems(2, { message: () => "an arena needs at least two contenders" }),
  ),
  tasks: Schema.Array(ArenaTask).pipe(
    Schema.minItems(1, { message: () => "an arena needs at least one task" }),
  ),
  scorer: Schema.optional(Scorer),
});
export type ArenaSuite = typeof ArenaSuite.Type;

/** One contender's answer to one task, scored. */
export interface ArenaResult {
  readonly suite: string;
  readonly run: string;
  readonly task: string;
  readonly contender: string;
  /** The contender's model, as `provider/model` or `profile:name`, for routing by standing. */
  readonly model: string;
  /** 0 (wrong) to 1 (right). */
  readonly score: number;
  readonly output: string;
  readonly error?: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
  readonly latencyMs: number;
  readonly time: number;
}
