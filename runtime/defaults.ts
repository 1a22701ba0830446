/**
 * What the runtime uses when no plugin contributes a piece: a model router that dispatches to the
 * named provider, no tools, no guardrails, no tripwires. Each says plainly what is missing.
 */
import { Effect, Stream } from "effect";
import type { GuardrailRunner } from "./guardrail.ts";
import {
  type ModelChoice,
  type ModelProvider,
  type ModelRouter,
  ProviderError,
  type ProviderLookup,
} from "./model.ts";
import type { ToolRunner } from "./tool.ts";
import type { TripwireMonitor } from "./tripwire.ts";

const pick = (providers: ProviderLookup, choice: ModelChoice): ModelProvider | ProviderError => {
  const name = choice.provider;
  if (name === undefined)
    return new ProviderError({
      reason: "unavailable",
      provider: `profile:${choice.profile ?? "?"}`,
      retryable: false,
      detail: "routing profiles need the providers plugin (plugins/providers); name a provider instead",
    });
  const provider = providers.get(name);
  if (!provider)
    return new ProviderError({
      reason: "unavailable",
      provider: name,
      retryable: false,
      detail: `no provider "${name}" is registered (available: ${providers.names().join(", ") || "none"})`,
    });
  return provider;
};

/** Dispatches each call to the provider the agent names. */
export const directModelRouter = (providers: ProviderLookup): ModelRouter => ({
  generate: (choice, request) =>
    Effect.suspend(() => {
      const provider = pick(providers, choice);
      if (provider instanceof ProviderError) return Effect.fail(provider);
      return provider.generate({
        ...request,
        model: choice.model ?? "default",
        ...(choice.options ? { options: choice.options } : {}),
      });
    }),
  stream: (choice, request) =>
    Stream.unwrap(
      Effect.sync(() => {
        const provider = pick(providers, choice);
        if (provider instanceof ProviderError) return Stream.fail(provider);
        return provider.stream({
          ...request,
          model: choice.model ?? "default",
          ...(choice.options ? { options: choice.options } : {}),
        });
      }),
    ),
  embed: (choice, request) =>
    Effect.suspend(() => {
      const provider = pick(providers, choice);
      if (provider instanceof ProviderError) return Effect.fail(provider);
      if (!provider.embed)
        return Effect.fail(
          new ProviderError({
            reason: "unavailable",
            provider: provider.name,
            retryable: false,
            detail: "this provider offers no embeddings",
          }),
        );
      return provider.embed({ ...request, ...(choice.model !== undefined ? { model: choice.model } : {}) });
    }),
});

/** No tools registered: models are offered none, and a call gets an error result naming the tool. */
export const noTools: ToolRunner = {
  visible: () => [],
  call: (call) =>
    Effect.succeed({
      callId: call.id,
      name: call.name,
      ok: false,
      content: `unknown tool "${call.name}": no tools are registered`,
    }),
};

/** No guardrails: text passes unchanged. */
export const noGuardrails: GuardrailRunner = {
  check: (subject) => Effect.succeed(subject.text),
  checkNow: (subject) => subject.text,
};

/** No tripwires: nothing is watched. */
export const noTripwires: TripwireMonitor = {
  observe: () => Effect.void,
  observeNow: () => undefined,
  guardStep: (_agent, step) => step,
};
