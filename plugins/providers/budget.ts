/**
 * Token and cost budgets per tree and per tenant, optionally per time window (`per: "day"` or
 * `"month"`, UTC). What a window has spent is read from the usage ledger the first time it is
 * needed, so with the SQL ledger a budget holds across restarts; after that, calls are added as
 * they settle. Before each call its estimated tokens and cost are *reserved*: a call is refused
 * when spent + reserved + its estimate would pass a limit, so concurrent calls cannot all slip
 * through one check, and a window is overshot by at most one call's estimate error.
 *
 * Gotcha: a budget without `per` counts from when the runtime started (its window opens then).
 * A window with nothing spent or reserved always lets one call through, even one whose estimate
 * alone is above the limit (estimates assume `maxTokens`, or 512 output tokens, and are rough).
 */
import { Clock, Deferred, Effect } from "effect";
import type { CallContext } from "../../runtime/model.ts";
import type { UsageLedger } from "../../runtime/usage-ledger.ts";
import type { BudgetLimit, ProvidersConfig } from "./config.ts";

/** What one tree or tenant has spent (or holds reserved) in a window. */
export interface Spent {
  tokens: number;
  costUsd: number;
}

/** A budget that a call would pass. */
export interface BudgetBreach {
  readonly scope: "tree" | "tenant";
  readonly owner: string;
  readonly limit: string;
  readonly reason: string;
}

/** What a call is expected to use, reserved before it is sent. */
export interface Estimate {
  readonly tokens: number;
  readonly costUsd: number;
}

/** A reservation held while a call runs; `release` gives it back (the spend itself is charged per attempt). */
export interface Reservation {
  readonly release: Effect.Effect<void>;
}

/** The budget book. */
export interface BudgetBook {
  /**
   * Reserves `estimate` in every budget that applies to the caller, or fails with the first
   * budget it would pass. Reads a window's spending from the ledger the first time.
   */
  readonly reserve: (
    context: CallContext,
    budgets: ProvidersConfig["budgets"],
    estimate: Estimate,
  ) => Effect.Effect<Reservation, BudgetBreach>;
  /** Whether any budget applies to the caller (else there is nothing to reserve). */
  readonly applies: (context: CallContext, budgets: ProvidersConfig["budgets"]) => boolean;
  /** Adds what an attempt used to every window of the caller that is open. */
  readonly charge: (context: CallContext, tokens: number, costUsd: number, now: number) => void;
  /** What a tree or tenant has spent in its newest window (0 when not yet read). */
  readonly spent: (scope: "tree" | "tenant", owner: string) => Spent;
}

/** Where a window of `per` opens, for a time `now` (UTC). */
export const windowStart = (per: BudgetLimit["per"], now: number, bookStart: number): number => {
  if (per === "day") return now - (now % 86_400_000);
  if (per === "month") {
    const d = new Date(now);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  return bookStart;
};

interface Window {
  readonly scope: "tree" | "tenant";
  readonly owner: string;
  readonly start: number;
  readonly loaded: Deferred.Deferred<void>;
  readonly spent: Spent;
  readonly reserved: Spent;
}

const describeLimit = (limit: BudgetLimit, what: "tokens" | "cost") =>
  `${what === "tokens" ? `${limit.maxTokens} tokens` : `$${limit.maxCostUsd}`}${limit.per ? ` per ${limit.per}` : ""}`;

/** The first limit of `limit` that `estimate` would pass in `w`. */
const breachOf = (w: Window, limit: BudgetLimit, estimate: Estimate): BudgetBreach | undefined => {
  const per = limit.per ? ` this ${limit.per}` : "";
  if (limit.maxTokens !== undefined) {
    const used = w.spent.tokens;
    const pending = used + w.reserved.tokens;
    if (used >= limit.maxTokens || (pending > 0 && pending + estimate.tokens > limit.maxTokens))
      return {
        scope: w.scope,
        owner: w.owner,
        limit: describeLimit(limit, "tokens"),
        reason: `${w.scope} ${w.owner} used ${used} of ${limit.maxTokens} tokens${per}${used < limit.maxTokens ? ` (${w.reserved.tokens} reserved by calls in flight, this one needs about ${estimate.tokens})` : ""}`,
      };
  }
  if (limit.maxCostUsd !== undefined) {
    const used = w.spent.costUsd;
    const pending = used + w.reserved.costUsd;
    if (used >= limit.maxCostUsd || (pending > 0 && pending + estimate.costUsd > limit.maxCostUsd))
      return {
        scope: w.scope,
        owner: w.owner,
        limit: describeLimit(limit, "cost"),
        reason: `${w.scope} ${w.owner} spent $${used.toFixed(6)} of $${limit.maxCostUsd}${per}${used < limit.maxCostUsd ? ` ($${w.reserved.costUsd.toFixed(6)} reserved by calls in flight, this one needs about $${estimate.costUsd.toFixed(6)})` : ""}`,
      };
  }
  return undefined;
};

/** Makes a budget book over a ledger; windows without `per` open with the first call (Effect's Clock). */
export const makeBudgetBook = (ledger: UsageLedger): BudgetBook => {
  /** Open windows per owner (`scope\0owner`), by start: charging a call touches only its owners'. */
  const owners = new Map<string, Map<number, Window>>();
  let bookStart: number | undefined;
  const ownerKey = (scope: string, owner: string) => `${scope}\u0000${owner}`;

  /** The window of a scope at `now`, read from the ledger once (concurrent callers wait for it). */
  const open = (scope: "tree" | "tenant", owner: string, limit: BudgetLimit, now: number) =>
    Effect.gen(function* () {
      const start = windowStart(limit.per, now, bookStart ?? now);
      let windows = owners.get(ownerKey(scope, owner));
      if (!windows) {
        windows = new Map();
        owners.set(ownerKey(scope, owner), windows);
      }
      let w = windows.get(start);
      if (!w) {
        w = {
          scope,
          owner,
          start,
          loaded: yield* Deferred.make<void>(),
          spent: { tokens: 0, costUsd: 0 },
          reserved: { tokens: 0, costUsd: 0 },
        };
        windows.set(start, w);
        // Forget the owner's closed windows (yesterday's, last month's).
        for (const older of windows.keys()) if (older < start) windows.delete(older);
        const created = w;
        // Uninterruptible: callers waiting for this window must not be left waiting by an aborted ask.
        yield* Effect.uninterruptible(
          Effect.gen(function* () {
            const totals = yield* ledger.totals({
              ...(scope === "tree" ? { tree: owner } : { tenant: owner }),
              since: start,
              cached: false,
            });
            created.spent.tokens += totals.inputTokens + totals.outputTokens;
            created.spent.costUsd += totals.costUsd;
            yield* Deferred.succeed(created.loaded, undefined);
          }),
        );
      } else yield* Deferred.await(w.loaded);
      return w;
    });

  const applicable = (context: CallContext, budgets: ProvidersConfig["budgets"]) => {
    const list: Array<{ scope: "tree" | "tenant"; owner: string; limit: BudgetLimit }> = [];
    if (budgets.perTree) list.push({ scope: "tree", owner: context.tree, limit: budgets.perTree });
    if (context.tenant !== undefined) {
      const limit = budgets.tenants[context.tenant] ?? budgets.perTenant;
      if (limit) list.push({ scope: "tenant", owner: context.tenant, limit });
    }
    return list;
  };

  return {
    applies: (context, budgets) =>
      budgets.perTree !== undefined ||
      (context.tenant !== undefined && (budgets.tenants[context.tenant] ?? budgets.perTenant) !== undefined),
    reserve: (context, budgets, estimate) =>
      Effect.gen(function* () {
        const budgetsHere = applicable(context, budgets);
        if (budgetsHere.length === 0) return { release: Effect.void };
        const now = yield* Clock.currentTimeMillis;
        bookStart ??= now;
        const opened: Array<{ w: Window; limit: BudgetLimit }> = [];
        for (const b of budgetsHere)
          opened.push({ w: yield* open(b.scope, b.owner, b.limit, now), limit: b.limit });
        // Checked and reserved without yielding in between, so concurrent calls see each other.
        for (const { w, limit } of opened) {
          const breach = breachOf(w, limit, estimate);
          if (breach) return yield* Effect.fail(breach);
        }
        for (const { w } of opened) {
          w.reserved.tokens += estimate.tokens;
          w.reserved.costUsd += estimate.costUsd;
        }
        let released = false;
        return {
          release: Effect.sync(() => {
            if (released) return;
            released = true;
            for (const { w } of opened) {
              w.reserved.tokens -= estimate.tokens;
              w.reserved.costUsd -= estimate.costUsd;
            }
          }),
        };
      }),
    charge: (context, tokens, costUsd, now) => {
      const mine = [
        owners.get(ownerKey("tree", context.tree)),
        context.tenant !== undefined ? owners.get(ownerKey("tenant", context.tenant)) : undefined,
      ];
      for (const windows of mine)
        for (const w of windows?.values() ?? []) {
          if (w.start > now) continue;
          w.spent.tokens += tokens;
          w.spent.costUsd += costUsd;
        }
    },
    spent: (scope, owner) => {
      let found: Window | undefined;
      for (const w of owners.get(ownerKey(scope, owner))?.values() ?? [])
        if (!found || w.start > found.start) found = w;
      return found ? { ...found.spent } : { tokens: 0, costUsd: 0 };
    },
  };
};
