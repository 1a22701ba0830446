import { describe, expect, it } from "vitest";
import { formatProviderStatus, providersStatusFromConfig } from "../../plugins/providers/status.ts";
import { run } from "./harness.ts";

describe("key fingerprints", () => {
  it("tell apart two keys that end alike, without showing either", async () => {
    const status = await run(
      providersStatusFromConfig({ providers: { openai: { apiKeys: ["k1SECRET", "k2SECRET"] } } }, {}),
    );
    const openai = status.providers.find((p) => p.name === "openai")!;
    const [first, second] = openai.keys.map((k) => k.fingerprint);
    expect(first).toMatch(/^sha256:[0-9a-f]{8}$/);
    expect(second).toMatch(/^sha256:[0-9a-f]{8}$/);
    expect(first).not.toBe(second);
    const printed = formatProviderStatus(status);
    expect(printed).toContain(first);
    expect(printed).toContain(second);
    expect(printed).not.toMatch(/SECRET|CRET/);
  });
});
