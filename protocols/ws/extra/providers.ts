/**
 * `providers.status {}` and `providers.reload {}` over the providers plugin's operator handles.
 * Provider configuration and its figures are runtime-wide (a key's requests, tokens and cooldowns
 * count every tenant's traffic), so both are reserved to the operator tenants (`local`, i.e.
 * loopback without a token, and `default`, the `ARBOR_TOKEN` holder); other tenants get -32001.
 * Status never carries keys, only fingerprints.
 */
import { Effect } from "effect";
import type { ProvidersPlugin } from "../../../plugins/providers/plugin.ts";
import { operatorTenants } from "../auth.ts";
import { RpcCode, rpcFailure, toRpcFailure } from "../codes.ts";
import { NoParams } from "../contract.ts";
import type { ExtraMethods, MethodDef } from "../methods.ts";

const noParams = NoParams as unknown as MethodDef["params"];

const operatorOnly = (method: string, why: string) =>
  Effect.fail(
    rpcFailure(
      RpcCode.unauthorized,
      "operator_only",
      "user",
      `${method} ${why}; use the operator token (ARBOR_TOKEN)`,
    ),
  );

/** The `providers.*` methods for a loaded providers plugin. */
export const providerMethods = (plugin: ProvidersPlugin): ExtraMethods => ({
  "providers.status": {
    params: noParams,
    run: (_params, caller) =>
      operatorTenants.has(caller.tenant)
        ? Effect.mapError(plugin.status(), toRpcFailure)
        : operatorOnly("providers.status", "shows runtime-wide figures"),
  },
  "providers.reload": {
    params: noParams,
    run: (_params, caller) =>
      operatorTenants.has(caller.tenant)
        ? Effect.mapError(plugin.reload(), toRpcFailure)
        : operatorOnly("providers.reload", "changes runtime-wide configuration"),
  },
});

/** Finds the providers plugin in a plugin list (it carries `status` and `reload`). */
export const findProvidersPlugin = (
  plugins: ReadonlyArray<{ readonly name: string }>,
): ProvidersPlugin | undefined =>
  plugins.find(
    (p): p is ProvidersPlugin =>
      p.name === "providers" && typeof (p as Partial<ProvidersPlugin>).status === "function",
  );
