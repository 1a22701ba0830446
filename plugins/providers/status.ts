/**
 * The provider status summary (`arbor providers status`, later `providers.status` on the wire):
 * per provider configured / available / cooling, per-key counters by fingerprint, open circuits.
 * Keys appear only as fingerprints.
 */
import { Clock, Effect, Either } from "effect";
import { makeEventBus } from "../../runtime/events.ts";
import { PROVIDER_NAMES, type ProviderName } from "./catalog.ts";
import type { CircuitState } from "./circuit-breaker.ts";
import type { Env } from "./config.ts";
import type { ProviderConfigError } from "./errors.ts";
import { makeProviderHub, type ProviderHub } from "./hub.ts";
import type { KeySnapshot } from "./key-pool.ts";
import { makeMemoryLedger, type UsageGroup, type UsageTotals } from "./ledger.ts";

/** One provider's status. */
export interface ProviderStatusEntry {
  readonly name: string;
  readonly configured: boolean;
  /** Configured and at least one key is free now. */
  readonly available: boolean;
  /** `not_configured` | `available` | `cooling` (every key cooling). */
  readonly state: "not_configured" | "available" | "cooling";
  readonly baseUrl?: string;
  /** What to set when not configured. */
  readonly hint?: string;
  readonly keys: ReadonlyArray<KeySnapshot>;
  /** When the first cooling key is free again (epoch ms), if all are cooling. */
  readonly retryAtMs?: number;
  readonly circuits: ReadonlyArray<{ readonly model: string; readonly state: CircuitState }>;
  /** What this provider's calls cost today (UTC), from the ledger; only on a live runtime's status. */
  readonly spentToday?: UsageTotals;
}

/** The whole summary. */
export interface ProvidersStatus {
  readonly time: number;
  readonly providers: ReadonlyArray<ProviderStatusEntry>;
  readonly profiles: Readonly<Record<string, ReadonlyArray<string>>>;
  readonly cache: { readonly enabled: boolean; readonly entries: number };
  /** Every call of today (UTC), from the ledger; only on a live runtime's status. */
  readonly spentToday?: UsageTotals;
}

const safeUrl = (url: string) => {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    u.search = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url;
  }
};

/** Reads the status at the current time (Effect's Clock), with today's spend from the ledger. */
export const providersStatus = (hub: ProviderHub): Effect.Effect<ProvidersStatus> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis;
    const since = now - (now % 86_400_000);
    const byProvider = new Map((yield* hub.ledger.groups({ since }, "provider")).map((g) => [g.key, g]));
    const status = snapshotStatus(hub, now);
    return {
      ...status,
      providers: status.providers.map((p) => {
        const spent = byProvider.get(p.name);
        return spent ? { ...p, spentToday: withoutKey(spent) } : p;
      }),
      spentToday: yield* hub.ledger.totals({ since }),
    };
  });

const withoutKey = ({ key: _key, ...totals }: UsageGroup): UsageTotals => totals;

/** The status without spend (a configuration's, or before the ledger is read). */
const snapshotStatus = (hub: ProviderHub, now: number): ProvidersStatus => {
  const state = hub.state();
  const circuits = hub.breakers();
  return {
    time: now,
    providers: [...PROVIDER_NAMES, ...Object.keys(state.config.custom)].map((name): ProviderStatusEntry => {
      const resolved = state.config.custom[name] ?? state.config.providers[name as ProviderName];
      const pool = state.pools.get(name);
      const keys = pool ? pool.snapshot(now) : [];
      const free = keys.some((k) => !k.cooling);
      const cooling = resolved.configured && !free;
      const retryAtMs = cooling ? Math.min(...keys.map((k) => k.coolingUntil ?? now)) : undefined;
      return {
        name,
        configured: resolved.configured,
        available: resolved.configured && free,
        state: !resolved.configured ? "not_configured" : cooling ? "cooling" : "available",
        ...(resolved.endpoint.baseUrl ? { baseUrl: safeUrl(resolved.endpoint.baseUrl) } : {}),
        ...(!resolved.configured ? { hint: resolved.howToConfigure } : {}),
        keys: resolved.keys.length > 0 ? keys : [],
        ...(retryAtMs !== undefined ? { retryAtMs } : {}),
        circuits: circuits
          .filter((c) => c.provider === name)
          .map((c) => ({ model: c.model, state: c.breaker.state() })),
      };
    }),
    profiles: Object.fromEntries(
      Object.entries(state.config.profiles).map(([p, list]) => [
        p,
        list.map((c) => `${c.provider}/${c.model}`),
      ]),
    ),
    cache: { enabled: state.cache !== undefined, entries: state.cache?.size() ?? 0 },
  };
};

const spend = (t: UsageTotals) =>
  `${t.calls} calls  ${t.errors} errors  ${t.inputTokens + t.outputTokens} tokens  $${t.costUsd.toFixed(6)}`;

/** Renders the status as the CLI prints it. */
export const formatProviderStatus = (status: ProvidersStatus): string => {
  const lines: Array<string> = [];
  for (const p of status.providers) {
    const state =
      p.state === "cooling"
        ? `cooling (free in ${Math.max(0, (p.retryAtMs ?? status.time) - status.time)} ms)`
        : p.state.replace("_", " ");
    lines.push(
      `${p.name.padEnd(11)} ${state}${p.baseUrl && p.configured ? `  ${p.baseUrl}` : ""}${p.hint ? `  — ${p.hint}` : ""}`,
    );
    for (const k of p.keys) {
      const cooling = k.cooling
        ? `cooling ${Math.max(0, (k.coolingUntil ?? status.time) - status.time)} ms`
        : "ready";
      lines.push(
        `  key ${k.fingerprint} ${cooling.padEnd(18)} requests ${k.requests}  tokens ${k.tokens}  failures ${k.failures}  cooldowns ${k.cooldowns}`,
      );
    }
    for (const c of p.circuits)
      if (c.state !== "closed") lines.push(`  circuit ${c.model}: ${c.state.replace("_", "-")}`);
    if (p.spentToday) lines.push(`  today: ${spend(p.spentToday)}`);
  }
  lines.push("");
  for (const [name, list] of Object.entries(status.profiles))
    lines.push(`profile ${name}: ${list.join(" → ")}`);
  lines.push(`cache: ${status.cache.enabled ? `on (${status.cache.entries} entries)` : "off"}`);
  if (status.spentToday) lines.push(`spent today (UTC): ${spend(status.spentToday)}`);
  return lines.join("\n");
};

/**
 * The status straight from a configuration and environment, without a running runtime (for
 * `arbor providers status` outside `arbor serve`): every key shows as ready with zero counters.
 */
export const providersStatusFromConfig = (
  config: Readonly<Record<string, unknown>>,
  env: Env,
): Effect.Effect<ProvidersStatus, ProviderConfigError> =>
  Effect.flatMap(
    makeEventBus(() => 0),
    (events) =>
      Either.match(makeProviderHub({ config, env, ledger: makeMemoryLedger({ maxRecords: 1 }), events }), {
        onLeft: (error) => Effect.fail(error),
        onRight: (hub) => Effect.map(Clock.currentTimeMillis, (now) => snapshotStatus(hub, now)),
      }),
  );
