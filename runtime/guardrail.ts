/**
 * The guardrail port. Guardrails return data (`pass`, `block`, `redact`); the runtime decides what
 * happens. They are checked on input (before the model call), output (before the reply leaves the
 * agent) and tool calls (before a tool runs).
 */
import { Data, type Effect } from "effect";
import type { AgentInfo } from "./agent-info.ts";
import type { Fault } from "./errors.ts";

export type GuardrailStage = "input" | "output" | "tool";

/** What one guardrail says about one text. */
export type GuardrailVerdict =
  | { readonly action: "pass" }
  | { readonly action: "block"; readonly policy: string; readonly reason: string }
  | {
      readonly action: "redact";
      readonly policy: string;
      readonly text: string;
      readonly redactions: ReadonlyArray<{ readonly kind: string; readonly count: number }>;
    };

/** What is being checked. `destination` is `network` when the text is about to leave the machine. */
export interface GuardrailSubject {
  readonly stage: GuardrailStage;
  readonly text: string;
  readonly agent: AgentInfo;
  readonly destination: "network" | "local";
  /**
   * Set when the text belongs to a tool call: without `result` the text is the call's arguments
   * (checked before the tool runs); with `result` it is the tool's output, checked before it goes
   * back to the model (where hidden instructions in tool output are caught).
   */
  readonly tool?: { readonly name: string; readonly args: unknown; readonly result?: boolean };
  /**
   * A preview (part of a streamed answer, checked again as a whole when the step ends): the runner
   * publishes no `guardrail.*` events for it.
   */
  readonly quiet?: boolean;
}

/** A guardrail contribution. */
export interface Guardrail {
  readonly name: string;
  readonly stages: ReadonlyArray<GuardrailStage>;
  readonly check: (subject: GuardrailSubject) => Effect.Effect<GuardrailVerdict>;
  /**
   * The same verdict as `check`, computed synchronously, for a guardrail that does no I/O (every
   * built-in): the runner calls it instead of running `check`, so a step with nothing to block or
   * redact pays no effect per guardrail. Gotcha: it must agree with `check`.
   */
  readonly checkSync?: (subject: GuardrailSubject) => GuardrailVerdict;
}

/** A guardrail blocked a step: no model call, tool run or reply happened. */
export class GuardrailViolation extends Data.TaggedError("GuardrailViolation")<{
  readonly reason: "blocked";
  readonly stage: GuardrailStage;
  readonly policy: string;
  readonly detail: string;
  /** The spec says violations are fatal (`guardrails.fatal`): the runtime fails the agent abnormally. */
  readonly fatal: boolean;
}> {
  readonly fault: Fault = "user";
  override get message(): string {
    return `guardrail ${this.policy} blocked the ${this.stage}: ${this.detail}`;
  }
}

/** What the agent step needs: run every guardrail that applies, return the (possibly redacted) text. */
export interface GuardrailRunner {
  readonly check: (subject: GuardrailSubject) => Effect.Effect<string, GuardrailViolation>;
  /**
   * The same check, done on the spot when it can be: the text when every guardrail that applies
   * answered synchronously and nothing is left to publish, else the effect that does the rest.
   * Optional; `checkNow` below falls back to `check`. Call it where the effect would run (inside
   * the step's fiber), never ahead of time: it checks when called.
   */
  readonly checkNow?: (subject: GuardrailSubject) => string | Effect.Effect<string, GuardrailViolation>;
}

/**
 * Checks `subject` at once when the runner can: the text, or the effect still to run. The agent
 * step's fast path: a check that passes costs no effect, no fiber step.
 */
export const checkNow = (
  runner: GuardrailRunner,
  subject: GuardrailSubject,
): string | Effect.Effect<string, GuardrailViolation> =>
  runner.checkNow !== undefined ? runner.checkNow(subject) : runner.check(subject);
