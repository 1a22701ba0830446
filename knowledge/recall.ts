/**
 * Agents that recall: the `memory` section of an agent's spec and the recall runner the memory
 * plugin installs. With `memory: { recall: { k, mode } }` an agent's step starts with what its
 * tenant's memory holds about the task: the current facts of the entities it names (or is about,
 * by meaning) and the `k` best passages, each labelled for citation (`[F1]`, `[1]`).
 *
 * Children inherit the section; `memory: { recall: false }` turns it off below.
 */
import { Effect, Either, Schema } from "effect";
import type { AgentInfo } from "../runtime/agent-info.ts";
import type { SpecSection } from "../runtime/plugin.ts";
import { problemsOf } from "../runtime/problems.ts";
import type { RecallRunner } from "../runtime/recall.ts";
import type { KnowledgeGraphService } from "./knowledge-graph.ts";
import { partitionFor } from "./partition.ts";
import { buildContext } from "./rag/context.ts";
import { SearchMode } from "./wire.ts";

/** `memory.recall` of an agent spec. */
export const RecallSettings = Schema.Struct({
  /** Passages to recall (default 4). */
  k: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 20))),
  /** How passages are found (default hybrid). */
  mode: Schema.optional(SearchMode),
  /** Entities whose current facts are recalled (default 3; 0 for none). */
  facts: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(0, 20))),
  /** Most tokens the recalled text may take (default 1000). */
  budgetTokens: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(50, 32_000))),
});
export type RecallSettings = typeof RecallSettings.Type;

/** The `memory` section of an agent spec. */
export const MemorySettings = Schema.Struct({
  recall: Schema.optional(Schema.Union(Schema.Literal(false), RecallSettings)),
});
export type MemorySettings = typeof MemorySettings.Type;

const decode = Schema.decodeUnknownEither(MemorySettings, { errors: "all", onExcessProperty: "error" });

/** The `memory` spec section: validated here; a lower level replaces what it inherits. */
export const memorySection: SpecSection = {
  key: "memory",
  validate: (value, path) => {
    const decoded = decode(value);
    return Either.isLeft(decoded) ? problemsOf(decoded.left, { root: path, schema: MemorySettings }) : [];
  },
  merge: (inherited, own) => ({ value: own ?? inherited }),
};

const settingsOf = (agent: AgentInfo): RecallSettings | undefined => {
  const decoded = decode(agent.settings.memory ?? {});
  const recall = Either.isRight(decoded) ? decoded.right.recall : undefined;
  return recall === false ? undefined : recall;
};

/** The heading of recalled memory in the model's prompt. */
export const RECALL_HEADING =
  "What your memory holds that may bear on this task. Cite what you use by its label ([F1] for a fact, [1] for a passage); ignore what does not apply.";

/** Recalls from the agent's tenant's partition of `kg`, never another's. */
export const makeRecallRunner = (kg: KnowledgeGraphService): RecallRunner => ({
  recall: (agent, task) => {
    const settings = settingsOf(agent);
    if (settings === undefined) return Effect.succeed(undefined);
    return buildContext(kg.partition(partitionFor(agent.tenant)), {
      query: task,
      k: settings.k ?? 4,
      ...(settings.mode ? { mode: settings.mode } : {}),
      factEntities: settings.facts ?? 3,
      budgetTokens: settings.budgetTokens ?? 1000,
    }).pipe(
      Effect.map((built) =>
        built.text.length === 0
          ? undefined
          : {
              text: `${RECALL_HEADING}\n\n${built.text}`,
              facts: built.facts.length,
              passages: built.citations.length,
            },
      ),
      Effect.catchAll((e) => Effect.succeed({ failed: e.message })),
    );
  },
});
