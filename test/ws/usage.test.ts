/**
 * `usage.totals` / `usage.query` over the wire (issue 15): tenant-scoped — a tenant sees only its
 * own calls, naming another tenant finds nothing; the operator sees every tenant's, grouped.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { providersPlugin } from "../../plugins/providers/plugin.ts";
import { ArborClient } from "../../protocols/client/index.ts";
import { usageMethods } from "../../protocols/ws/extra/usage.ts";
import type { UsageGroup, UsageRecord, UsageTotals } from "../../runtime/usage-ledger.ts";
import { type RunningRuntime, startRuntimeServer } from "./runtime.ts";

const operatorToken = "operator-token-usage-0123456789";
const acmeToken = "acme-token-usage-0123456789abc";
const globexToken = "globex-token-usage-0123456789ab";
const providers = providersPlugin({ env: {} });
let running: RunningRuntime;
beforeAll(async () => {
  running = await startRuntimeServer(
    {
      tokens: [
        { token: operatorToken, tenant: "default" },
        { token: acmeToken, tenant: "acme" },
        { token: globexToken, tenant: "globex" },
      ],
    },
    usageMethods(providers.ledger),
    [providers],
  );
});
afterAll(() => running.close());

const spec = {
  name: "counted",
  root: { name: "root", kind: "child", model: { provider: "scripted", script: [{ text: "ok: {{input}}" }] } },
};

interface Report {
  readonly totals: UsageTotals;
  readonly groups?: ReadonlyArray<UsageGroup>;
}

it("shows each tenant only its own usage, and the operator everyone's by tenant", async () => {
  const acme = await ArborClient.connect(running.url, { token: acmeToken });
  const globex = await ArborClient.connect(running.url, { token: globexToken });
  const operator = await ArborClient.connect(running.url, { token: operatorToken });
  const a = await acme.spawn(spec);
  await acme.ask(a.root, "one");
  const g = await globex.spawn(spec);
  await globex.ask(g.root, "one");
  await globex.ask(g.root, "two");

  const mine = (await acme.request("usage.totals", { by: "agent" })) as Report;
  expect(mine.totals.calls).toBe(1);
  expect(mine.groups?.map((x) => x.key)).toEqual([a.root]);
  const peek = (await acme.request("usage.totals", { tenant: "globex" })) as Report;
  expect(peek.totals.calls).toBe(0);
  const records = (await acme.request("usage.query", {})) as { records: ReadonlyArray<UsageRecord> };
  expect(records.records.map((r) => r.tenant)).toEqual(["acme"]);
  expect((await globex.request("usage.totals", {})) as Report).toMatchObject({ totals: { calls: 2 } });

  const all = (await operator.request("usage.totals", { by: "tenant" })) as Report;
  expect(all.totals.calls).toBe(3);
  expect(all.groups?.map((x) => [x.key, x.calls])).toEqual([
    ["globex", 2],
    ["acme", 1],
  ]);
  const one = (await operator.request("usage.totals", { tenant: "acme" })) as Report;
  expect(one.totals.calls).toBe(1);
  await expect(operator.request("usage.totals", { by: "colour" })).rejects.toMatchObject({ code: -32602 });
  await Promise.all([acme.close(), globex.close(), operator.close()]);
});
