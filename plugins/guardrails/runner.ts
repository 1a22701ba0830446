/**
 * The guardrail runner the agent step calls: runs every registered guardrail that applies to the
 * stage, in registration order, feeding each redaction forward; the first block stops the step.
 * It publishes `guardrail.redacted` / `guardrail.blocked` and turns a block into a typed
 * `GuardrailViolation` (with `fatal` from the spec); the runtime decides what happens next.
 */
import { Effect } from "effect";
import type { AgentInfo } from "../../runtime/agent-info.ts";
import type { EventBus } from "../../runtime/events.ts";
import {
  type Guardrail,
  type GuardrailRunner,
  type GuardrailSubject,
  GuardrailViolation,
} from "../../runtime/guardrail.ts";
import { settingsOf } from "./builtins.ts";
import type { GuardrailSettings } from "./settings.ts";

/** What the runner needs: the guardrails registered through the plugin host, and the event bus. */
export interface GuardrailRunnerOptions {
  /** Read on every check, so guardrails registered or removed later take effect at once. */
  readonly guardrails: () => ReadonlyArray<Guardrail>;
  readonly events: EventBus;
  /** Addresses already told that their PII redaction is off; share it across rebuilt runners. */
  readonly noticed?: Set<string>;
  /** The runtime config's `guardrails` level, for agents whose spec sets none. */
  readonly base?: GuardrailSettings;
}

const origin = (agent: AgentInfo) => ({ tree: agent.tree, address: agent.address, id: agent.id });

/**
 * Makes the runner. Gotcha: when an agent's PII redaction is `off` and its text goes to a network
 * provider, the first such check publishes a `guardrail.redacted` event with no redactions and a
 * reason saying redaction is off, so the run says so.
 */
export const makeGuardrailRunner = (options: GuardrailRunnerOptions): GuardrailRunner => {
  const warnedOff = options.noticed ?? new Set<string>();
  const noticeIfOff = (subject: GuardrailSubject) =>
    Effect.suspend(() => {
      if (subject.destination !== "network" || warnedOff.has(subject.agent.address)) return Effect.void;
      if (settingsOf(subject, options.base).pii !== "off") return Effect.void;
      warnedOff.add(subject.agent.address);
      return options.events.publish({
        type: "guardrail.redacted",
        ...origin(subject.agent),
        stage: subject.stage,
        policy: "pii",
        redactions: [],
        reason:
          "PII redaction is off for this agent (guardrails.pii: off): text goes to the provider as written",
      });
    });

  return {
    check: (subject) =>
      Effect.gen(function* () {
        if (!subject.quiet) yield* noticeIfOff(subject);
        let text = subject.text;
        for (const guardrail of options.guardrails()) {
          if (!guardrail.stages.includes(subject.stage)) continue;
          const verdict = yield* guardrail.check({ ...subject, text });
          if (verdict.action === "pass") continue;
          if (verdict.action === "redact") {
            text = verdict.text;
            if (subject.quiet) continue;
            yield* options.events.publish({
              type: "guardrail.redacted",
              ...origin(subject.agent),
              stage: subject.stage,
              policy: verdict.policy,
              redactions: verdict.redactions,
            });
            continue;
          }
          if (!subject.quiet)
            yield* options.events.publish({
              type: "guardrail.blocked",
              ...origin(subject.agent),
              stage: subject.stage,
              policy: verdict.policy,
              reason: verdict.reason,
            });
          return yield* new GuardrailViolation({
            reason: "blocked",
            stage: subject.stage,
            policy: verdict.policy,
            detail: verdict.reason,
            fatal: settingsOf(subject, options.base).fatal,
          });
        }
        return text;
      }),
  };
};
