/**
 * Which memory partition a tenant reads and writes. Tenants that speak for the operator (loopback
 * clients, the `ARBOR_TOKEN` holder, trees started without a tenant) share the default partition;
 * every other tenant has its own, named after it.
 */
import { DEFAULT_PARTITION } from "./graph-store.ts";

/** Tenants that speak for the operator (the WebSocket server's `local` and `default`). */
export const OPERATOR_TENANTS: ReadonlyArray<string> = ["local", "default"];

/** The partition of `tenant` (the default one for the operator or no tenant). */
export const partitionFor = (
  tenant: string | undefined,
  operators: ReadonlyArray<string> = OPERATOR_TENANTS,
): string =>
  tenant === undefined || tenant === "" || operators.includes(tenant) ? DEFAULT_PARTITION : tenant;
