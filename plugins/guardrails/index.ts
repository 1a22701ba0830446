/** Guardrails: PII redaction, prompt-injection heuristics, deny/allow patterns, length limits. */
export {
  builtinGuardrails,
  denyGuardrail,
  injectionGuardrail,
  lengthGuardrail,
  piiGuardrail,
} from "./builtins.ts";
export { detectInjection } from "./injection.ts";
export { detectPii, ibanValid, luhnValid, type PiiKind, piiKinds, redactPii } from "./pii.ts";
export { guardrailsPlugin } from "./plugin.ts";
export { type GuardrailRunnerOptions, makeGuardrailRunner } from "./runner.ts";
export {
  defaultGuardrailSettings,
  type GuardrailSettings,
  guardrailsSection,
  makeGuardrailsSection,
  type PiiMode,
  readGuardrailConfig,
  readGuardrailSettings,
} from "./settings.ts";
