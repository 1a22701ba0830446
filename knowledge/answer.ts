/**
 * `memory.answer {question}`: retrieve, then generate. The facts and passages that bear on the
 * question (as agents recall them) go to a model through the runtime's router with the instruction
 * to answer from them only and cite them (`[F1]`, `[1]`); the answer comes back with what each label
 * stands for. The question and the context pass the input guardrails and the answer the output
 * guardrails, as an agent's step would (PII is redacted before a network model sees it).
 */
import { Effect, Schema } from "effect";
import type { AgentInfo } from "../runtime/agent-info.ts";
import type { GuardrailRunner, GuardrailViolation } from "../runtime/guardrail.ts";
import type { ModelChoice, ModelRouter, ProviderError, Usage } from "../runtime/model.ts";
import type { KnowledgeGraphService, MemoryError } from "./knowledge-graph.ts";
import { buildContext, type Citation, DEFAULT_RAG_SYSTEM, type FactCitation } from "./rag/context.ts";
import { SearchMode } from "./wire.ts";

/** The model `memory.answer` uses: a provider (+ model) or a routing profile; other keys are provider options. */
export const AnswerModel = Schema.Struct(
  {
    provider: Schema.optional(Schema.String),
    model: Schema.optional(Schema.String),
    profile: Schema.optional(Schema.String),
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
);

/** `memory.answer {question, k?, mode?, model?}` */
export const AnswerParams = Schema.Struct({
  question: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(8000)),
  k: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 20))),
  mode: Schema.optional(SearchMode),
  model: Schema.optional(AnswerModel),
});
export type AnswerParams = typeof AnswerParams.Type;

/** What `memory.answer` answers: the text and what its `[n]` and `[Fn]` labels cite. */
export interface AnswerResult {
  readonly answer: string;
  readonly citations: ReadonlyArray<Citation>;
  readonly facts: ReadonlyArray<FactCitation>;
  readonly provider: string;
  readonly model: string;
  readonly usage: Usage;
}

/** The model when neither the call nor the configuration names one. */
export const DEFAULT_ANSWER_MODEL: ModelChoice = { profile: "balanced" };

const choiceOf = (model: AnswerParams["model"], fallback: ModelChoice): ModelChoice => {
  if (model === undefined) return fallback;
  const { provider, model: name, profile, ...options } = model;
  return {
    ...(provider !== undefined ? { provider } : {}),
    ...(name !== undefined ? { model: name } : {}),
    ...(profile !== undefined ? { profile } : {}),
    ...(Object.keys(options).length > 0 ? { options } : {}),
  };
};

/** Who asks, as the guardrails see it: memory answering for a tenant. */
const answererOf = (tenant: string | undefined): AgentInfo => ({
  tree: "",
  treeId: "",
  address: "/memory.answer",
  id: "memory.answer",
  name: "memory.answer",
  kind: "micro",
  depth: 0,
  ...(tenant !== undefined ? { tenant } : {}),
  settings: {},
});

/** What answering needs from the runtime. */
export interface AnswerDeps {
  readonly router: ModelRouter;
  readonly guardrails: GuardrailRunner;
  /** The model when the call names none (default `DEFAULT_ANSWER_MODEL`). */
  readonly model?: ModelChoice;
}

/** Answers `params.question` from `kg` (one tenant's partition) through the router, with citations. */
export const answerQuestion = (
  kg: KnowledgeGraphService,
  deps: AnswerDeps,
  params: AnswerParams,
  tenant?: string,
): Effect.Effect<AnswerResult, MemoryError | ProviderError | GuardrailViolation> =>
  Effect.gen(function* () {
    const built = yield* buildContext(kg, {
      query: params.question,
      k: params.k ?? 6,
      ...(params.mode ? { mode: params.mode } : {}),
      factEntities: 3,
      budgetTokens: 2000,
    });
    const choice = choiceOf(params.model, deps.model ?? DEFAULT_ANSWER_MODEL);
    const destination = choice.provider === "scripted" ? "local" : "network";
    const agent = answererOf(tenant);
    const guard = (text: string) => deps.guardrails.check({ stage: "input", text, agent, destination });
    const system = yield* guard(`${DEFAULT_RAG_SYSTEM}\n\nContext:\n${built.text || "(nothing found)"}`);
    const question = yield* guard(params.question);
    const response = yield* deps.router.generate(choice, {
      messages: [
        { role: "system", content: system },
        { role: "user", content: question },
      ],
      context: {
        tree: "",
        address: agent.address,
        agentId: agent.id,
        ...(tenant !== undefined ? { tenant } : {}),
      },
    });
    const answer = yield* deps.guardrails.check({
      stage: "output",
      text: response.text,
      agent,
      destination: "local",
    });
    return {
      answer,
      citations: built.citations,
      facts: built.facts,
      provider: response.provider,
      model: response.model,
      usage: response.usage,
    };
  });
