/** The SQL usage ledger (the providers' ledger port) on PGlite and on `pg` over the wire. */
import { Effect, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { layerSqlUsageLedger } from "../../knowledge/usage-ledger-sql.ts";
import { UsageLedgerService, type UsageRecord } from "../../plugins/providers/ledger.ts";
import { runtimeOf, type SqlAdapter, sqlAdapters } from "./support.ts";

const call = (over: Partial<UsageRecord>): UsageRecord => ({
  time: 1_000,
  tree: "t1",
  address: "/t1/root",
  agentId: "a1",
  operation: "chat",
  provider: "openai",
  model: "gpt-4o-mini",
  key: "sk-…1111",
  inputTokens: 10,
  outputTokens: 5,
  costUsd: 0.001,
  latencyMs: 120,
  outcome: "ok",
  cached: false,
  ...over,
});

describe.each(sqlAdapters)("SQL usage ledger over $name", ({ make }) => {
  let adapter: SqlAdapter;
  let rt: ReturnType<typeof runtimeOf<UsageLedgerService, unknown>>;
  beforeAll(async () => {
    adapter = await make();
    rt = runtimeOf(layerSqlUsageLedger.pipe(Layer.provide(adapter.layer)));
  });
  afterAll(async () => {
    await rt.dispose();
    await adapter.close();
  });

  it("records calls and answers filtered queries and totals", async () => {
    const ledger = (f: (l: UsageLedgerService["Type"]) => Effect.Effect<unknown>) =>
      rt.run(Effect.flatMap(UsageLedgerService, f));
    await ledger((l) => l.record(call({})));
    await ledger((l) => l.record(call({ time: 2_000, tenant: "acme", provider: "groq", costUsd: 0.002 })));
    await ledger((l) =>
      l.record(
        call({
          time: 3_000,
          tree: "t2",
          outcome: "error",
          reason: "rate_limited",
          inputTokens: 0,
          outputTokens: 0,
          costUsd: 0,
        }),
      ),
    );
    const all = (await ledger((l) => l.query())) as ReadonlyArray<UsageRecord>;
    expect(all).toHaveLength(3);
    expect(all[0]).toEqual(call({}));
    expect(all[1]).toMatchObject({ tenant: "acme", provider: "groq" });
    expect(all[2]).toMatchObject({ outcome: "error", reason: "rate_limited" });
    expect(
      ((await ledger((l) => l.query({ tree: "t1", since: 1_500 }))) as ReadonlyArray<UsageRecord>).length,
    ).toBe(1);
    expect(await ledger((l) => l.totals({ tree: "t1" }))).toEqual({
      calls: 2,
      errors: 0,
      inputTokens: 20,
      outputTokens: 10,
      costUsd: 0.003,
    });
    expect(await ledger((l) => l.totals({ tenant: "nobody" }))).toEqual({
      calls: 0,
      errors: 0,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
    });
  });
});
