/**
 * The `agent.step` span around one agent step: a child of the span that sent the task (carried in
 * the envelope), with the agent's address, kind, role, tree, tenant and incarnation, and the GenAI
 * `invoke_agent` attributes. A retried task (its last incarnation crashed) gets an `agent.restarted`
 * event and stays in its trace (a task from outside any span is parented by its first attempt); a
 * tripwire or a crash ends the span with an event saying so.
 */
import type { Attributes } from "@opentelemetry/api";
import { Cause, Effect, Option } from "effect";
import type { AskError } from "../system.ts";
import { currentSpan, endSpan, startSpan, tracingActive } from "../tracing.ts";
import type { AgentCell } from "./cell.ts";
import type { Envelope } from "./envelope.ts";
import type { StepResult } from "./step.ts";

/** A step's result with the id of the trace it ran in (when tracing is on). */
export type TracedStepResult = StepResult & { readonly traceId?: string };

const stepAttributes = (cell: AgentCell): Attributes => {
  const info = cell.info;
  return {
    "gen_ai.operation.name": "invoke_agent",
    "gen_ai.agent.name": info.name,
    "gen_ai.agent.id": info.id,
    "arbor.agent.address": info.address,
    "arbor.agent.kind": info.kind,
    ...(info.role !== undefined ? { "arbor.agent.role": info.role } : {}),
    "arbor.tree": info.tree,
    ...(info.tenant !== undefined ? { "arbor.tenant": info.tenant } : {}),
    "arbor.agent.incarnation": cell.incarnation,
  };
};

/** Wraps a step in its span when tracing is on; returns it untouched otherwise. */
export const traceStep = (
  cell: AgentCell,
  envelope: Envelope,
  body: Effect.Effect<StepResult, AskError>,
): Effect.Effect<TracedStepResult, AskError> => {
  if (!tracingActive()) return body;
  const span = startSpan("agent.step", stepAttributes(cell), envelope.trace);
  const traceId = span.spanContext().traceId;
  envelope.traceId = traceId;
  envelope.trace ??= span.spanContext();
  if (envelope.requestId !== undefined) span.setAttribute("arbor.request.id", envelope.requestId);
  if ((envelope.crashes ?? 0) > 0)
    span.addEvent("agent.restarted", {
      "arbor.agent.incarnation": cell.incarnation,
      "arbor.task.crashes": envelope.crashes ?? 0,
    });
  return body.pipe(
    Effect.locally(currentSpan, span),
    Effect.map((result): TracedStepResult => ({ ...result, traceId })),
    Effect.onExit((exit) =>
      Effect.sync(() => {
        if (exit._tag === "Failure") {
          const failure = Cause.failureOption(exit.cause);
          if (Option.isSome(failure) && failure.value._tag === "TripwireTripped") {
            const tripped = failure.value;
            span.addEvent("tripwire.triggered", {
              "arbor.tripwire": tripped.tripwire,
              "arbor.tripwire.action": tripped.action,
              "arbor.tripwire.measurement": tripped.measurement,
              "arbor.tripwire.threshold": tripped.threshold,
            });
          } else if (Option.isSome(Cause.dieOption(exit.cause))) {
            span.addEvent("agent.crashed", { "arbor.agent.incarnation": cell.incarnation });
          }
        }
        endSpan(span, exit);
      }),
    ),
  );
};
