/**
 * Token and cost budgets per tree and per tenant. Spending is counted after each call; a call
 * that finds a budget already spent fails with `budget_exceeded` before reaching any provider.
 */
import type { CallContext } from "../../runtime/model.ts";
import type { BudgetLimit, ProvidersConfig } from "./config.ts";

/** What one tree or tenant has spent. */
export interface Spent {
  tokens: number;
  costUsd: number;
}

/** A budget that is used up. */
export interface BudgetBreach {
  readonly scope: "tree" | "tenant";
  readonly owner: string;
  readonly limit: string;
  readonly reason: string;
}

/** The budget book: spending per tree and per tenant, checked against the configured limits. */
export interface BudgetBook {
  /** The first exhausted budget that applies to this caller, if any. */
  readonly check: (context: CallContext, budgets: ProvidersConfig["budgets"]) => BudgetBreach | undefined;
  readonly charge: (context: CallContext, tokens: number, costUsd: number) => void;
  readonly spent: (scope: "tree" | "tenant", owner: string) => Spent;
}

const breach = (
  scope: "tree" | "tenant",
  owner: string,
  limit: BudgetLimit | undefined,
  spent: Spent,
): BudgetBreach | undefined => {
  if (!limit) return undefined;
  if (limit.maxTokens !== undefined && spent.tokens >= limit.maxTokens)
    return {
      scope,
      owner,
      limit: `${limit.maxTokens} tokens`,
      reason: `${scope} ${owner} used ${spent.tokens} of ${limit.maxTokens} tokens`,
    };
  if (limit.maxCostUsd !== undefined && spent.costUsd >= limit.maxCostUsd)
    return {
      scope,
      owner,
      limit: `$${limit.maxCostUsd}`,
      reason: `${scope} ${owner} spent $${spent.costUsd.toFixed(6)} of $${limit.maxCostUsd}`,
    };
  return undefined;
};

/** Makes an empty budget book. */
export const makeBudgetBook = (): BudgetBook => {
  const trees = new Map<string, Spent>();
  const tenants = new Map<string, Spent>();
  const get = (map: Map<string, Spent>, owner: string) => {
    let found = map.get(owner);
    if (!found) {
      found = { tokens: 0, costUsd: 0 };
      map.set(owner, found);
    }
    return found;
  };
  return {
    check: (context, budgets) =>
      breach("tree", context.tree, budgets.perTree, trees.get(context.tree) ?? { tokens: 0, costUsd: 0 }) ??
      (context.tenant !== undefined
        ? breach(
            "tenant",
            context.tenant,
            budgets.tenants[context.tenant] ?? budgets.perTenant,
            tenants.get(context.tenant) ?? { tokens: 0, costUsd: 0 },
          )
        : undefined),
    charge: (context, tokens, costUsd) => {
      const tree = get(trees, context.tree);
      tree.tokens += tokens;
      tree.costUsd += costUsd;
      if (context.tenant !== undefined) {
        const tenant = get(tenants, context.tenant);
        tenant.tokens += tokens;
        tenant.costUsd += costUsd;
      }
    },
    spent: (scope, owner) => ({
      ...((scope === "tree" ? trees : tenants).get(owner) ?? { tokens: 0, costUsd: 0 }),
    }),
  };
};
