/**
 * `usage.totals {tree?, tenant?, provider?, since?, by?}` and `usage.query {…, limit?}` over the
 * providers' usage ledger (the SQL ledger under `arbor serve`). Tenant-scoped: a tenant sees only
 * its own calls (naming another tenant finds nothing, as if it had made none); the operator tenants
 * (`local`, `default`) see every tenant's and may name one. `since` is epoch milliseconds.
 */
import { Effect, Schema } from "effect";
import {
  USAGE_GROUP_BY,
  type UsageFilter,
  type UsageLedger,
  type UsageRecord,
} from "../../../runtime/usage-ledger.ts";
import { operatorTenants } from "../auth.ts";
import type { CallerContext, ExtraMethods, MethodDef } from "../methods.ts";

/** Records `usage.query` returns when no `limit` is given, and at most. */
export const USAGE_QUERY_DEFAULT_LIMIT = 100;
export const USAGE_QUERY_MAX_LIMIT = 1000;

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256));
const Filter = {
  tree: Schema.optional(Name),
  tenant: Schema.optional(Name),
  provider: Schema.optional(Name),
  since: Schema.optional(
    Schema.Number.pipe(Schema.nonNegative({ message: () => "since is epoch milliseconds (≥ 0)" })),
  ),
};
const TotalsParams = Schema.Struct({ ...Filter, by: Schema.optional(Schema.Literal(...USAGE_GROUP_BY)) });
const QueryParams = Schema.Struct({
  ...Filter,
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, USAGE_QUERY_MAX_LIMIT))),
});

/** The caller's filter, or `undefined` when it names a tenant the caller may not see (nothing to find). */
const scoped = (
  params: Schema.Schema.Type<typeof TotalsParams>,
  caller: CallerContext,
): UsageFilter | undefined => {
  const operator = operatorTenants.has(caller.tenant);
  if (!operator && params.tenant !== undefined && params.tenant !== caller.tenant) return undefined;
  const tenant = operator ? params.tenant : caller.tenant;
  return {
    ...(params.tree !== undefined ? { tree: params.tree } : {}),
    ...(tenant !== undefined ? { tenant } : {}),
    ...(params.provider !== undefined ? { provider: params.provider } : {}),
    ...(params.since !== undefined ? { since: params.since } : {}),
  };
};

const none = { calls: 0, errors: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };

/** The `usage.*` methods over a ledger. */
export const usageMethods = (ledger: UsageLedger): ExtraMethods => ({
  "usage.totals": {
    params: TotalsParams as unknown as MethodDef["params"],
    run: (raw, caller) => {
      const params = raw as Schema.Schema.Type<typeof TotalsParams>;
      const filter = scoped(params, caller);
      if (!filter)
        return Effect.succeed({ totals: none, ...(params.by ? { by: params.by, groups: [] } : {}) });
      return Effect.gen(function* () {
        const totals = yield* ledger.totals(filter);
        if (!params.by) return { totals };
        return { totals, by: params.by, groups: yield* ledger.groups(filter, params.by) };
      });
    },
  },
  "usage.query": {
    params: QueryParams as unknown as MethodDef["params"],
    run: (raw, caller) => {
      const params = raw as Schema.Schema.Type<typeof QueryParams>;
      const filter = scoped(params, caller);
      if (!filter) return Effect.succeed({ records: [] as ReadonlyArray<UsageRecord> });
      return Effect.map(
        ledger.query({ ...filter, limit: params.limit ?? USAGE_QUERY_DEFAULT_LIMIT }),
        (records) => ({ records }),
      );
    },
  },
});
