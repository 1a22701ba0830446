/**
 * A workflow as data: steps over a tree's agents with `dependsOn`, templated inputs from the workflow
 * input and earlier steps' outputs, conditions, retries, timeouts and a concurrency limit. Sequential,
 * parallel fan-out/fan-in and DAG workflows are all this one shape.
 */
import { Schema } from "effect";

const StepId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, {
    message: () => "a step id is a letter then letters, digits, _ or - (at most 64)",
  }),
);
const Int = (min: number, max: number) =>
  Schema.Int.pipe(
    Schema.between(min, max, { message: () => `expected a whole number from ${min} to ${max}` }),
  );

/** Runs the step only when an earlier step's output matches; otherwise it is skipped (output ""). */
export const Condition = Schema.Struct({
  step: StepId,
  contains: Schema.optional(Schema.String),
  notContains: Schema.optional(Schema.String),
  equals: Schema.optional(Schema.String),
  matches: Schema.optional(Schema.String),
});
export type Condition = typeof Condition.Type;

export const RetrySpec = Schema.Struct({
  /** Attempts after the first. */
  max: Int(0, 10),
  /** Delay before the first retry, doubled for each next one (default 100 ms). */
  backoffMs: Schema.optional(Int(0, 600_000)),
});

/**
 * A step that waits for a person instead of asking an agent: an entry in the runtime's approvals (the
 * same store, events, `approval.list` / `approval.decide` and `approvals.timeoutMs` as tool calls).
 * Approved, the step completes with output `approved` (`approved: <reason>`); denied or timed out, it
 * fails — or, with `optional: true`, is skipped with output `denied` (`denied: <reason>`), so a later
 * step's `when: { step, matches: "^approved" }` takes the branch only after a yes.
 */
export const ApprovalSpec = Schema.Struct({
  /** What the person is asked; a template like a step's input (`{{steps.diagnose.output}}`). */
  prompt: Schema.String.pipe(Schema.minLength(1)),
});
export type ApprovalSpec = typeof ApprovalSpec.Type;

export const StepSpec = Schema.Struct({
  id: StepId,
  /**
   * The agent's path below the root (`researcher`, `team/critic`), or the root's name. Every step
   * names an agent, except an `approval` step.
   */
  agent: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /** Makes this an approval step: it waits for a person's decision (see `ApprovalSpec`). */
  approval: Schema.optional(ApprovalSpec),
  /** What the agent is asked: `{{input}}` and `{{steps.<id>.output}}` are filled in (default `{{input}}`). */
  input: Schema.optional(Schema.String),
  dependsOn: Schema.optional(Schema.Array(StepId)),
  when: Schema.optional(Condition),
  retry: Schema.optional(RetrySpec),
  timeoutMs: Schema.optional(Int(1, 3_600_000)),
  /** A failure after the retries skips the step instead of failing the workflow. */
  optional: Schema.optional(Schema.Boolean),
  /**
   * The agent answers with a plan: a workflow (JSON `{"steps": [...]}`) over this tree's agents, which
   * is checked like a spec's and then run; its output is this step's output. A plan that does not
   * check out fails the attempt (so `retry` asks again).
   */
  plan: Schema.optional(Schema.Boolean),
});
export type StepSpec = typeof StepSpec.Type;

export const WorkflowSpec = Schema.Struct({
  description: Schema.optional(Schema.String),
  /** Most steps running at once (default 4). */
  concurrency: Schema.optional(Int(1, 64)),
  steps: Schema.Array(StepSpec).pipe(
    Schema.minItems(1, { message: () => "a workflow needs at least one step" }),
    Schema.maxItems(200, { message: () => "a workflow has at most 200 steps" }),
  ),
  /** The workflow's answer (a template like an input); default: the last step's output. */
  output: Schema.optional(Schema.String),
});
export type WorkflowSpec = typeof WorkflowSpec.Type;

export const defaultConcurrency = 4;
export const defaultBackoffMs = 100;
