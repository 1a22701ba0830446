/**
 * The guardrail runner the agent step calls: runs every registered guardrail that applies to the
 * stage, in registration order, feeding each redaction forward; the first block stops the step.
 * It publishes `guardrail.redacted` / `guardrail.blocked` and turns a block into a typed
 * `GuardrailViolation` (with `fatal` from the spec); the runtime decides what happens next.
 */
import { Effect } from "effect";
import type { AgentInfo } from "../../runtime/agent-info.ts";
import type { ArborEventInput, EventBus } from "../../runtime/events.ts";
import {
  type Guardrail,
  type GuardrailRunner,
  type GuardrailSubject,
  type GuardrailVerdict,
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
 *
 * Guardrails that offer `checkSync` are run as plain calls: a check where nothing is blocked or
 * redacted is one `Effect.succeed`. The guardrails of each stage are listed once per registration
 * list, not filtered on every check.
 */
export const makeGuardrailRunner = (options: GuardrailRunnerOptions): GuardrailRunner => {
  const warnedOff = options.noticed ?? new Set<string>();
  /** The `guardrail.redacted` notice a subject calls for (once per address), if any. */
  const noticeOf = (subject: GuardrailSubject): ArborEventInput | undefined => {
    if (subject.quiet || subject.destination !== "network" || warnedOff.has(subject.agent.address))
      return undefined;
    if (settingsOf(subject, options.base).pii !== "off") return undefined;
    warnedOff.add(subject.agent.address);
    return {
      type: "guardrail.redacted",
      ...origin(subject.agent),
      stage: subject.stage,
      policy: "pii",
      redactions: [],
      reason:
        "PII redaction is off for this agent (guardrails.pii: off): text goes to the provider as written",
    };
  };

  let byStage:
    | { readonly all: ReadonlyArray<Guardrail>; readonly stages: Map<string, Guardrail[]> }
    | undefined;
  const forStage = (stage: GuardrailSubject["stage"]): ReadonlyArray<Guardrail> => {
    const all = options.guardrails();
    if (byStage?.all !== all) byStage = { all, stages: new Map() };
    let list = byStage.stages.get(stage);
    if (list === undefined) {
      list = all.filter((guardrail) => guardrail.stages.includes(stage));
      byStage.stages.set(stage, list);
    }
    return list;
  };

  const publishAll = (events: ReadonlyArray<ArborEventInput>): Effect.Effect<void> =>
    Effect.forEach(events, (event) => options.events.publish(event), { discard: true });

  /** What a verdict means for the check: go on (with the text, maybe an event), or stop with a violation. */
  const outcomeOf = (
    subject: GuardrailSubject,
    verdict: GuardrailVerdict,
  ):
    | { readonly go: true; readonly text?: string; readonly event?: ArborEventInput }
    | { readonly go: false; readonly violation: GuardrailViolation; readonly event?: ArborEventInput } => {
    if (verdict.action === "pass") return { go: true };
    if (verdict.action === "redact")
      return {
        go: true,
        text: verdict.text,
        ...(subject.quiet
          ? {}
          : {
              event: {
                type: "guardrail.redacted",
                ...origin(subject.agent),
                stage: subject.stage,
                policy: verdict.policy,
                redactions: verdict.redactions,
              },
            }),
      };
    return {
      go: false,
      violation: new GuardrailViolation({
        reason: "blocked",
        stage: subject.stage,
        policy: verdict.policy,
        detail: verdict.reason,
        fatal: settingsOf(subject, options.base).fatal,
      }),
      ...(subject.quiet
        ? {}
        : {
            event: {
              type: "guardrail.blocked",
              ...origin(subject.agent),
              stage: subject.stage,
              policy: verdict.policy,
              reason: verdict.reason,
            },
          }),
    };
  };

  /** The rest of a check from guardrail `i` on, as an effect (a guardrail without `checkSync` is next). */
  const runFrom = (
    subject: GuardrailSubject,
    list: ReadonlyArray<Guardrail>,
    i: number,
    start: string,
  ): Effect.Effect<string, GuardrailViolation> =>
    Effect.gen(function* () {
      let text = start;
      for (let j = i; j < list.length; j++) {
        const verdict = yield* list[j]!.check(text === subject.text ? subject : { ...subject, text });
        const outcome = outcomeOf(subject, verdict);
        if (outcome.event) yield* options.events.publish(outcome.event);
        if (!outcome.go) return yield* outcome.violation;
        if (outcome.text !== undefined) text = outcome.text;
      }
      return text;
    });

  /** The check up to its first guardrail without `checkSync`, or to its end: the text, or the effect still to run. */
  const checkNow = (subject: GuardrailSubject): string | Effect.Effect<string, GuardrailViolation> => {
    const notice = noticeOf(subject);
    let events: ArborEventInput[] | undefined = notice ? [notice] : undefined;
    const list = forStage(subject.stage);
    let text = subject.text;
    for (let i = 0; i < list.length; i++) {
      const guardrail = list[i]!;
      if (guardrail.checkSync === undefined) {
        const rest = runFrom(subject, list, i, text);
        return events ? Effect.zipRight(publishAll(events), rest) : rest;
      }
      const outcome = outcomeOf(
        subject,
        guardrail.checkSync(text === subject.text ? subject : { ...subject, text }),
      );
      if (outcome.event) {
        events ??= [];
        events.push(outcome.event);
      }
      if (!outcome.go) {
        const failed = Effect.fail(outcome.violation);
        return events ? Effect.zipRight(publishAll(events), failed) : failed;
      }
      if (outcome.text !== undefined) text = outcome.text;
    }
    return events ? Effect.as(publishAll(events), text) : text;
  };

  return {
    check: (subject) =>
      Effect.suspend(() => {
        const checked = checkNow(subject);
        return typeof checked === "string" ? Effect.succeed(checked) : checked;
      }),
    checkNow,
  };
};
