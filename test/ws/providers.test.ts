/**
 * `providers.status` and `providers.reload` over the wire, with the real providers plugin: status
 * shows providers without keys, and only the operator tenant may read (runtime-wide figures) or
 * reload runtime-wide configuration.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { providersPlugin } from "../../plugins/providers/plugin.ts";
import { ArborClient } from "../../protocols/client/index.ts";
import { providerMethods } from "../../protocols/ws/extra/providers.ts";
import { type RunningRuntime, startRuntimeServer } from "./runtime.ts";

const operatorToken = "operator-token-0123456789abcdef";
const tenantToken = "tenant-token-0123456789abcdef";
const providers = providersPlugin({ env: { OPENAI_API_KEY: "sk-test-secret-key-never-shown" } });
let running: RunningRuntime;
beforeAll(async () => {
  running = await startRuntimeServer(
    {
      tokens: [
        { token: operatorToken, tenant: "default" },
        { token: tenantToken, tenant: "acme" },
      ],
    },
    providerMethods(providers),
    [providers],
  );
});
afterAll(() => running.close());

it("reports provider status without keys and reserves reload to the operator", async () => {
  const operator = await ArborClient.connect(running.url, { token: operatorToken });
  const tenant = await ArborClient.connect(running.url, { token: tenantToken });
  const status = (await operator.request("providers.status")) as {
    providers: ReadonlyArray<{ name: string }>;
  };
  expect(status.providers.map((p) => p.name)).toContain("openai");
  expect(JSON.stringify(status)).not.toContain("sk-test-secret-key-never-shown");
  // Key counters and cooldowns count every tenant's traffic: tenants see none of it.
  await expect(tenant.request("providers.status")).rejects.toMatchObject({
    code: -32001,
    reason: "operator_only",
  });
  await expect(tenant.request("providers.reload")).rejects.toMatchObject({
    code: -32001,
    reason: "operator_only",
  });
  const reloaded = (await operator.request("providers.reload")) as { providers: ReadonlyArray<unknown> };
  expect(reloaded.providers.length).toBeGreaterThan(0);
  await expect(operator.request("providers.status", { verbose: true })).rejects.toMatchObject({
    code: -32602,
  });
  await operator.close();
  await tenant.close();
});
