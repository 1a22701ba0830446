/**
 * What plugins (guardrails, tripwires, tools, providers) may know about the agent they serve.
 */
import type { AgentKind } from "./events.ts";

/** A read-only description of one agent, handed to plugin contributions. */
export interface AgentInfo {
  /** The tree's id, as in addresses and events (its name, unless another running tree had it first). */
  readonly tree: string;
  /** The same id (kept for readability at call sites that compare ids). */
  readonly treeId: string;
  /** The tree's name from its spec. */
  readonly treeName?: string;
  readonly address: string;
  readonly id: string;
  readonly name: string;
  readonly kind: AgentKind;
  readonly role?: string;
  readonly depth: number;
  readonly tenant?: string;
  /** The agent's resolved settings from the spec (guardrails, tripwires, tools), after inheritance. */
  readonly settings: Readonly<Record<string, unknown>>;
}
