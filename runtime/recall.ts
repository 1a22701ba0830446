/**
 * Recall: what an agent remembers before its model call. An agent whose spec sets
 * `memory: { recall: { k, mode } }` has the most relevant facts and passages of its tenant's memory
 * put before its task, with citations. The runtime only defines the port; the memory plugin
 * (knowledge/) installs the runner, and the step passes its text through the input guardrails.
 */
import { Effect } from "effect";
import type { AgentInfo } from "./agent-info.ts";

/** What one step recalled: the text for the model and what it holds. */
export interface Recalled {
  /** Facts and passages with their citations, ready to put before the task. */
  readonly text: string;
  readonly facts: number;
  readonly passages: number;
}

/** Recalls memory for a step. Never fails: a store that cannot answer is reported in `failed`. */
export interface RecallRunner {
  readonly recall: (
    agent: AgentInfo,
    task: string,
  ) => Effect.Effect<Recalled | { readonly failed: string } | undefined>;
}

/** No memory plugin: nothing is recalled. */
export const noRecall: RecallRunner = { recall: () => Effect.succeed(undefined) };
