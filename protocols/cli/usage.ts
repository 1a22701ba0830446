/**
 * `arbor usage`: what provider calls cost, from the usage ledger — a running server's over the
 * wire (`--connect`, tenant-scoped by its token), or the local database's (the SQL ledger that
 * `arbor serve` and `arbor run --memory` write into the knowledge store) when no server is named.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { Effect, Either, Layer } from "effect";
import { knowledgeConfig } from "../../knowledge/config.ts";
import { layerPg, layerPglite } from "../../knowledge/sql-client.ts";
import { makeSqlUsageLedger } from "../../knowledge/usage-ledger-sql.ts";
import { loadConfig } from "../../runtime/config.ts";
import {
  USAGE_GROUP_BY,
  type UsageFilter,
  type UsageGroup,
  type UsageGroupBy,
  type UsageTotals,
} from "../../runtime/usage-ledger.ts";
import { ArborClient } from "../client/client.ts";
import { type Command, ExitCode } from "./command.ts";
import { describeFlagError } from "./flags.ts";
import { describeClientError } from "./inspect.ts";

const usage = `Usage: arbor usage [--by agent|model|provider|day|tenant|tree] [--since <when>] [options]

Totals of provider calls (calls, errors, tokens, cost in USD) from the usage ledger, optionally
grouped. Without --connect, reads the local database (the knowledge store of arbor.config.json,
./.arbor/data by default) — use --connect while a server runs on it.

Options:
  --by <group>        group by agent, model, provider, day, tenant or tree
  --since <when>      24h, 7d, 30m, an ISO date (2026-12-01) or epoch ms (default: all time)
  --tree <id>         only this tree          --provider <name>   only this provider
  --tenant <id>       only this tenant (over the wire a tenant token sees only its own)
  --connect <url>     a running server (e.g. ws://127.0.0.1:7420/rpc)
  --token <token>     bearer token for --connect (default: $ARBOR_TOKEN)
  --config <file>     configuration file, for the local database
  --json              one JSON object: {totals, by?, groups?}

Examples:
  arbor usage --by model --since 24h
  arbor usage --connect ws://127.0.0.1:7420/rpc --by tenant --since 7d
  arbor usage --by day --since 2026-12-01 --json`;

const fail = (message: string, code: number = ExitCode.usage): number => {
  process.stderr.write(`arbor usage: ${message}\n`);
  return code;
};

/** Parses `--since`: a span back from now (`30m`, `24h`, `7d`), an ISO date, or epoch ms. */
export const parseSince = (text: string, now: number): number | undefined => {
  const span = /^(\d+(?:\.\d+)?)([mhd])$/.exec(text.trim());
  if (span)
    return now - Number(span[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[span[2] as "m" | "h" | "d"];
  if (/^\d+$/.test(text.trim())) return Number(text);
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? undefined : parsed;
};

/** What `usage.totals` answers. */
interface UsageReport {
  readonly totals: UsageTotals;
  readonly by?: UsageGroupBy;
  readonly groups?: ReadonlyArray<UsageGroup>;
}

const row = (cells: ReadonlyArray<string>, widths: ReadonlyArray<number>) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");

/** Renders a report as a table (largest cost first) with a total line. */
export const formatUsage = (report: UsageReport): string => {
  const head = [report.by ?? "", "calls", "errors", "input tok", "output tok", "cost USD"];
  const line = (key: string, t: UsageTotals) => [
    key,
    String(t.calls),
    String(t.errors),
    String(t.inputTokens),
    String(t.outputTokens),
    t.costUsd.toFixed(6),
  ];
  const rows = [
    ...(report.groups ?? []).map((g) => line(g.key || "(none)", g)),
    line("total", report.totals),
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [row(head, widths), ...rows.map((r) => row(r, widths))].join("\n");
};

const local = (configFile: string | undefined, filter: UsageFilter, by: UsageGroupBy | undefined) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { config } = yield* loadConfig(configFile);
      const resolved = knowledgeConfig(config.knowledge, process.env);
      if (Either.isLeft(resolved)) return yield* Effect.fail(resolved.left);
      const k = resolved.right;
      if (!k.pgUrl && !existsSync(k.dataDir))
        return yield* Effect.fail(
          new Error(`no database at ${k.dataDir} yet (arbor serve or arbor run --memory create it)`),
        );
      const sql = yield* Layer.build(
        k.pgUrl ? layerPg({ url: k.pgUrl }) : layerPglite({ dataDir: k.dataDir }),
      );
      const ledger = yield* Effect.provide(makeSqlUsageLedger, sql);
      const totals = yield* ledger.totals(filter);
      return by ? { totals, by, groups: yield* ledger.groups(filter, by) } : { totals };
    }),
  );

/** The `usage` command module. */
export const usageCommand: Command = {
  name: "usage",
  summary: "show what provider calls cost, grouped by agent, model, day or tenant",
  usage,
  run: async (argv) => {
    const options = {
      by: { type: "string" },
      since: { type: "string" },
      tree: { type: "string" },
      tenant: { type: "string" },
      provider: { type: "string" },
      connect: { type: "string" },
      token: { type: "string" },
      config: { type: "string" },
      json: { type: "boolean", default: false },
    } as const;
    let values: {
      [K in keyof typeof options]?: (typeof options)[K]["type"] extends "boolean" ? boolean : string;
    };
    try {
      ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
    } catch (error) {
      return fail(`${describeFlagError(error, options)}\n(arbor usage --help lists the options)`);
    }
    const by = values.by as UsageGroupBy | undefined;
    if (by !== undefined && !USAGE_GROUP_BY.includes(by))
      return fail(`--by takes one of ${USAGE_GROUP_BY.join(", ")} (got "${values.by}")`);
    const since = values.since === undefined ? undefined : parseSince(values.since, Date.now());
    if (values.since !== undefined && since === undefined)
      return fail(`--since takes 30m, 24h, 7d, an ISO date or epoch ms (got "${values.since}")`);
    const filter: UsageFilter = {
      ...(values.tree !== undefined ? { tree: values.tree } : {}),
      ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
      ...(values.provider !== undefined ? { provider: values.provider } : {}),
      ...(since !== undefined ? { since } : {}),
    };
    let report: UsageReport;
    if (values.connect !== undefined) {
      const token = values.token ?? process.env.ARBOR_TOKEN;
      let client: ArborClient;
      try {
        client = await ArborClient.connect(values.connect, token ? { token } : {});
      } catch (error) {
        return fail(describeClientError(error), ExitCode.failed);
      }
      try {
        report = (await client.request("usage.totals", { ...filter, ...(by ? { by } : {}) })) as UsageReport;
      } catch (error) {
        return fail(describeClientError(error), ExitCode.failed);
      } finally {
        await client.close();
      }
    } else {
      const result = await Effect.runPromise(Effect.either(local(values.config, filter, by)));
      if (Either.isLeft(result)) return fail(result.left.message, ExitCode.failed);
      report = result.right;
    }
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${formatUsage(report)}\n`);
    return ExitCode.ok;
  },
};
