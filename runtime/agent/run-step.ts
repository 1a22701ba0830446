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
  // Reported on a later microtask: a step that ends synchronously (a scripted crash) must not
  // re-enter the cell or its supervisor while they are still starting this incarnation.
  fiber.addObserver((exit) => {
    ended = true;
    queueMicrotask(() => {
      if (cancelled) return;
      const outcome = outcomeOf(exit);
      if (outcome) report(outcome);
    });
  });
  return () => {
    cancelled = true;
    if (!ended) fiber.unsafeInterruptAsFork(fiber.id()); // a step that ended has nothing to interrupt
  };
};
