/** The SQL usage ledger (the providers' ledger port) on PGlite and on `pg` over the wire. */
import { Effect, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { layerSqlUsageLedger } from "../../knowledge/usage-ledger-sql.ts";
import { makeMemoryLedger, UsageLedgerService, type UsageRecord } from "../../plugins/providers/ledger.ts";
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

  it("groups totals by model, day and tenant the way the in-memory ledger does, and returns the newest records", async () => {
    const ledger = <A>(f: (l: UsageLedgerService["Type"]) => Effect.Effect<A>) =>
      rt.run(Effect.flatMap(UsageLedgerService, f));
    const day = 86_400_000;
    const records = [
      call({ time: 10 * day + 5, tenant: "acme", costUsd: 0.5 }),
      call({ time: 10 * day + 6, tenant: "acme", provider: "groq", model: "llama", costUsd: 0.25 }),
      call({ time: 11 * day + 1, tenant: "globex", costUsd: 0.125, outcome: "error", reason: "server" }),
      call({ time: 11 * day + 2, provider: "scripted", model: "", costUsd: 0 }),
    ];
    for (const r of records) await ledger((l) => l.record(r));
    const memory = makeMemoryLedger();
    for (const r of records) await Effect.runPromise(memory.record(r));
    const since = { since: 10 * day };
    for (const by of ["model", "day", "tenant", "agent"] as const) {
      const sql = await ledger((l) => l.groups(since, by));
      expect(sql).toEqual(await Effect.runPromise(memory.groups(since, by)));
    }
    expect(await ledger((l) => l.groups(since, "day"))).toEqual([
      expect.objectContaining({ key: "1970-01-11", calls: 2, costUsd: 0.75 }),
      expect.objectContaining({ key: "1970-01-12", calls: 2, errors: 1, costUsd: 0.125 }),
    ]);
    expect((await ledger((l) => l.groups(since, "model"))).map((g) => g.key)).toEqual([
      "openai/gpt-4o-mini",
      "groq/llama",
      "scripted",
    ]);
    const newest = await ledger((l) => l.query({ ...since, limit: 2 }));
    expect(newest.map((r) => r.time)).toEqual([11 * day + 1, 11 * day + 2]);
  });
});
