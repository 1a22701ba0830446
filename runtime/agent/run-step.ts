/**
 * Runs one agent step as a fiber owned by the tree and turns its exit into a `StepOutcome`:
 * success → reply; a typed failure → a failed reply (the agent carries on); a defect or a tripwire
 * `halt` → crash (abnormal exit, the supervisor decides); a tripwire `stop-tree` → the tree stops.
 * Interruption (the actor was stopped) reports nothing.
 */
import { Cause, Exit, Option } from "effect";
import type { AskError } from "../system.ts";
import type { AgentCell } from "./cell.ts";
import type { Envelope } from "./envelope.ts";
import { step } from "./step.ts";
import type { StepOutcome } from "./step-outcome.ts";
import { type TracedStepResult, traceStep } from "./step-span.ts";

const describeDefect = (defect: unknown): string =>
  defect instanceof Error ? defect.message : typeof defect === "string" ? defect : JSON.stringify(defect);

/** Classifies a finished step. Exported for tests of the classification itself. */
export const outcomeOf = (exit: Exit.Exit<TracedStepResult, AskError>): StepOutcome | undefined => {
  if (Exit.isSuccess(exit)) {
    const { output, usage, exit: exitReason, traceId } = exit.value;
    return {
      _tag: "Replied",
      reply: traceId !== undefined ? { output, usage, traceId } : { output, usage },
      ...(exitReason !== undefined ? { exit: exitReason } : {}),
    };
  }
  const cause = exit.cause;
  const failure = Cause.failureOption(cause);
  if (Option.isSome(failure)) {
    const error = failure.value;
    if (error._tag === "GuardrailViolation" && error.fatal)
      return { _tag: "Crashed", reason: error.message, fault: "model" };
    if (error._tag === "TripwireTripped") {
      return error.action === "stop-tree"
        ? { _tag: "StopTree", error }
        : { _tag: "Crashed", reason: error.message, fault: "model" };
    }
    return { _tag: "Failed", error };
  }
  const defect = Cause.dieOption(cause);
  // A defect in a step is how a provider reports output the agent cannot go on with (the scripted
  // `{crash}` step among them): the model's fault.
  if (Option.isSome(defect)) return { _tag: "Crashed", reason: describeDefect(defect.value), fault: "model" };
  return undefined; // interrupted
};

export const runStepFiber = (
  cell: AgentCell,
  envelope: Envelope,
  report: (outcome: StepOutcome) => void,
): (() => void) => {
  const fiber = cell.tree.run(traceStep(cell, envelope, step(cell, envelope)));
  let cancelled = false;
  let ended = false;
  fiber.addObserver((exit) => {
    ended = true;
    const outcome = outcomeOf(exit);
    if (outcome === undefined) return; // interrupted: nothing to report
    // A reply or a typed failure is reported at once, even when the step ended synchronously (all
    // its calls answered at once, as a zero-latency step's do): the cell finishes the task and
    // settles its asker without a microtask hop, so a delegating parent resumes in the same turn.
    // A crash, a normal exit and a stop-tree are reported on a later microtask: they re-enter the
    // cell's supervisor, which must not happen while it is still starting this incarnation.
    if (reportsAtOnce(outcome)) {
      if (!cancelled) report(outcome);
    } else
      queueMicrotask(() => {
        if (!cancelled) report(outcome);
      });
  });
  return () => {
    cancelled = true;
    if (!ended) fiber.unsafeInterruptAsFork(fiber.id()); // a step that ended has nothing to interrupt
  };
};

/** Outcomes that only answer the asker (no exit, no crash, no tree stop): safe to report inside the step's start. */
const reportsAtOnce = (outcome: StepOutcome): boolean =>
  outcome._tag === "Failed" || (outcome._tag === "Replied" && outcome.exit === undefined);
