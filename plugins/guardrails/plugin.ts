/**
 * The guardrails plugin: registers the built-in guardrails (length, deny, injection, PII), owns the
 * `guardrails` spec section, and installs the runner the agent step calls. The runtime config's
 * `guardrails` section, when present, is the level above every tree.
 */
import { Effect, Either } from "effect";
import { PluginError } from "../../runtime/errors.ts";
import { definePlugin, type Plugin } from "../../runtime/plugin.ts";
import { makeBuiltinGuardrails } from "./builtins.ts";
import { makeGuardrailRunner } from "./runner.ts";
import { makeGuardrailsSection, readGuardrailConfig } from "./settings.ts";

/** The guardrails plugin value. Fails to load when `config.guardrails` is invalid. */
export const guardrailsPlugin: Plugin = definePlugin({
  name: "guardrails",
  version: "0.1.0",
  setup: (host) =>
    Effect.gen(function* () {
      const configured = readGuardrailConfig(host.config.guardrails);
      if (Either.isLeft(configured))
        return yield* new PluginError({
          reason: "setup_failed",
          plugin: "guardrails",
          detail: configured.left.map((p) => `${p.path}: ${p.message}`).join("; "),
        });
      const base = configured.right;
      yield* host.registerSpecSection(makeGuardrailsSection(base));
      for (const guardrail of makeBuiltinGuardrails(base)) yield* host.registerGuardrail(guardrail);
      const noticed = new Set<string>();
      yield* host.installGuardrailRunner((guardrails) =>
        makeGuardrailRunner({
          guardrails: guardrails.all,
          events: host.events,
          noticed,
          ...(base === undefined ? {} : { base }),
        }),
      );
    }),
});
