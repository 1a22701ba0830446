/**
 * The built-in guardrails. Each reads the agent's resolved `guardrails` settings, so one
 * registration serves every agent and a subtree's tighter settings apply to it alone.
 * Order matters and is the order of `builtinGuardrails`: blocking checks run before redaction,
 * so a deny pattern sees the text as the agent wrote it.
 */
import { Effect } from "effect";
import type { Guardrail, GuardrailSubject, GuardrailVerdict } from "../../runtime/guardrail.ts";
import { detectInjection } from "./injection.ts";
import { redactPii } from "./pii.ts";
import { type GuardrailSettings, readGuardrailSettings } from "./settings.ts";

const cache = new WeakMap<object, GuardrailSettings>();

/**
 * The resolved guardrail settings of the agent a subject belongs to (cached per settings object);
 * `base` (the runtime config's level) applies to agents whose spec sets none.
 */
export const settingsOf = (subject: GuardrailSubject, base?: GuardrailSettings): GuardrailSettings => {
  const raw = subject.agent.settings.guardrails;
  if (typeof raw !== "object" || raw === null) return readGuardrailSettings(raw, base);
  let settings = cache.get(raw);
  if (settings === undefined) {
    settings = readGuardrailSettings(raw);
    cache.set(raw, settings);
  }
  return settings;
};

const pass: GuardrailVerdict = { action: "pass" };
const block = (policy: string, reason: string): GuardrailVerdict => ({ action: "block", policy, reason });
const isToolResult = (subject: GuardrailSubject) => subject.stage === "tool" && subject.tool?.result === true;

/** A guardrail that does no I/O: `check` is `checkSync` run as an effect. */
const synchronous = (
  name: string,
  stages: Guardrail["stages"],
  checkSync: (subject: GuardrailSubject) => GuardrailVerdict,
): Guardrail => ({ name, stages, checkSync, check: (subject) => Effect.sync(() => checkSync(subject)) });

/** Settings' patterns compiled once per settings object. */
const compiled = new WeakMap<
  GuardrailSettings,
  { readonly deny: ReadonlyArray<RegExp>; readonly allow: ReadonlyArray<RegExp>; readonly allowAll: RegExp[] }
>();
const patternsOf = (settings: GuardrailSettings) => {
  let found = compiled.get(settings);
  if (found === undefined) {
    const allow = settings.allow ?? [];
    found = {
      deny: settings.deny.map((source) => new RegExp(source, "i")),
      allow: allow.map((source) => new RegExp(source)),
      allowAll: allow.map((source) => new RegExp(source, "g")),
    };
    compiled.set(settings, found);
  }
  return found;
};

const withoutAllowed = (text: string, allow: ReadonlyArray<RegExp>): string =>
  allow.reduce((acc, re) => acc.replace(re, " "), text);

/** `maxInputChars` / `maxOutputChars`: a text longer than the limit is blocked. */
const makeLengthGuardrail = (base?: GuardrailSettings): Guardrail =>
  synchronous("max-length", ["input", "output"], (subject) => {
    const settings = settingsOf(subject, base);
    const limit = subject.stage === "input" ? settings.maxInputChars : settings.maxOutputChars;
    return limit !== undefined && subject.text.length > limit
      ? block("max-length", `${subject.stage} is ${subject.text.length} characters, the limit is ${limit}`)
      : pass;
  });

/** `deny` patterns: a text matching one (outside the `allow` exceptions) is blocked. */
const makeDenyGuardrail = (base?: GuardrailSettings): Guardrail =>
  synchronous("deny", ["input", "output", "tool"], (subject) => {
    const settings = settingsOf(subject, base);
    if (settings.deny.length === 0) return pass;
    const patterns = patternsOf(settings);
    const text = withoutAllowed(subject.text, patterns.allowAll);
    const hit = patterns.deny.findIndex((re) => re.test(text));
    return hit < 0 ? pass : block("deny", `matches the deny pattern /${settings.deny[hit]}/`);
  });

/** Prompt-injection heuristics on input and on tool output (`injection: false` turns them off). */
const makeInjectionGuardrail = (base?: GuardrailSettings): Guardrail =>
  synchronous("injection", ["input", "tool"], (subject) => {
    if (!settingsOf(subject, base).injection) return pass;
    if (subject.stage === "tool" && !isToolResult(subject)) return pass;
    const rule = detectInjection(subject.text, isToolResult(subject));
    if (rule === undefined) return pass;
    const where = isToolResult(subject) ? `output of tool ${subject.tool?.name}` : subject.stage;
    return block("injection", `possible prompt injection in the ${where} (${rule})`);
  });

/**
 * PII redaction of text on its way to a model (input, tool output) or out of the agent (output).
 * Mode `network` redacts only when `destination` is `network`; `always` redacts everything.
 */
const makePiiGuardrail = (base?: GuardrailSettings): Guardrail =>
  synchronous("pii", ["input", "output", "tool"], (subject) => {
    const settings = settingsOf(subject, base);
    if (settings.pii === "off") return pass;
    if (settings.pii === "network" && subject.destination !== "network") return pass;
    if (subject.stage === "tool" && !isToolResult(subject)) return pass;
    const { text, redactions } = redactPii(subject.text, undefined, patternsOf(settings).allow);
    return redactions.length === 0 ? pass : { action: "redact", policy: "pii", text, redactions };
  });

/**
 * The built-ins, in the order they run. `base` is the runtime config's `guardrails` level; it
 * applies to agents whose spec sets none.
 */
export const makeBuiltinGuardrails = (base?: GuardrailSettings): ReadonlyArray<Guardrail> => [
  makeLengthGuardrail(base),
  makeDenyGuardrail(base),
  makeInjectionGuardrail(base),
  makePiiGuardrail(base),
];

/** `maxInputChars` / `maxOutputChars`: a text longer than the limit is blocked. */
export const lengthGuardrail: Guardrail = makeLengthGuardrail();
/** `deny` patterns: a text matching one (outside the `allow` exceptions) is blocked. */
export const denyGuardrail: Guardrail = makeDenyGuardrail();
/** Prompt-injection heuristics on input and on tool output. */
export const injectionGuardrail: Guardrail = makeInjectionGuardrail();
/** PII redaction. */
export const piiGuardrail: Guardrail = makePiiGuardrail();

/** Every built-in with no config level, in the order they run. */
export const builtinGuardrails: ReadonlyArray<Guardrail> = makeBuiltinGuardrails();
