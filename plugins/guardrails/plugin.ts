/**
 * The guardrails plugin: registers the built-in guardrails (length, deny, injection, PII), owns the
 * `guardrails` spec section, and installs the runner the agent step calls.
 */
import { Effect } from "effect";
import { definePlugin, type Plugin } from "../../runtime/plugin.ts";
import { builtinGuardrails } from "./builtins.ts";
import { makeGuardrailRunner } from "./runner.ts";
import { guardrailsSection } from "./settings.ts";

/** The guardrails plugin value. */
export const guardrailsPlugin: Plugin = definePlugin({
  name: "guardrails",
  version: "0.1.0",
  setup: (host) =>
    Effect.gen(function* () {
      yield* host.registerSpecSection(guardrailsSection);
      for (const guardrail of builtinGuardrails) yield* host.registerGuardrail(guardrail);
      const noticed = new Set<string>();
      yield* host.installGuardrailRunner((guardrails) =>
        makeGuardrailRunner({ guardrails: guardrails.all, events: host.events, noticed }),
      );
    }),
});
