/**
 * The context builder: retrieved chunks packed into a token budget, numbered for citation, and
 * `generateWithContext`, which asks a model through the runtime's router to answer from them.
 *
 * Gotcha: tokens are estimated as characters / 4 (close for English with common tokenizers,
 * optimistic for code and other scripts); keep a margin under the model's real limit.
 */
import { Effect } from "effect";
import type {
  CallContext,
  ModelChoice,
  ModelResponse,
  ModelRouter,
  ProviderError,
} from "../../runtime/model.ts";
import type { KnowledgeGraphService, MemoryError } from "../knowledge-graph.ts";
import type { SearchMode } from "../wire.ts";

/** Estimated tokens of a text (characters / 4, rounded up). */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

/** One cited source in a built context. */
export interface Citation {
  readonly n: number;
  readonly documentId: string;
  readonly chunkId: string;
  readonly score: number;
}

/** One cited fact in a built context: `[Fn] entity · attribute = value`. */
export interface FactCitation {
  readonly label: string;
  readonly entity: string;
  readonly attribute: string;
  readonly value: unknown;
  readonly validFrom: number;
}

/**
 * A context ready to put in a prompt: `[Fn] entity · attribute = value` lines for facts (when asked
 * for), then `[n] (documentId) text` blocks, and what each label is.
 */
export interface BuiltContext {
  readonly text: string;
  readonly citations: ReadonlyArray<Citation>;
  readonly facts: ReadonlyArray<FactCitation>;
  readonly tokens: number;
}

/** What to retrieve for a context. */
export interface ContextRequest {
  readonly query: string;
  readonly k?: number;
  readonly mode?: SearchMode;
  readonly filter?: Readonly<Record<string, string | number | boolean>>;
  /** Most tokens the context may take (default 1500). A chunk that does not fit whole is left out. */
  readonly budgetTokens?: number;
  /**
   * Also the current facts of the entities the query names, then of those nearest it by meaning
   * (at most this many entities; default 0: no facts).
   */
  readonly factEntities?: number;
}

/** Entities nearer than this (cosine) to the query count as what it is about. */
const ENTITY_SIMILARITY = 0.35;

/** The current facts of the entities a query is about: named in it first, then nearest by meaning. */
const factsFor = (kg: KnowledgeGraphService, query: string, maxEntities: number) =>
  Effect.gen(function* () {
    if (maxEntities <= 0) return [];
    const named = (yield* kg.mentionedEntities(query)).map((n) => n.id);
    const near =
      named.length >= maxEntities
        ? []
        : (yield* kg.similarEntities({ query, k: maxEntities })).entities
            .filter((e) => e.score >= ENTITY_SIMILARITY && !named.includes(e.id))
            .map((e) => e.id);
    const facts: Array<Omit<FactCitation, "label">> = [];
    // An entity gone from the graph since it was indexed has no facts to give.
    for (const entity of [...named, ...near].slice(0, maxEntities))
      for (const f of (yield* Effect.catchTag(kg.recall({ entity }), "KnowledgeInputError", () =>
        Effect.succeed({ facts: [] }),
      )).facts)
        facts.push({ entity, attribute: f.attribute, value: f.value, validFrom: f.validFrom });
    return facts;
  });

/** Retrieves and packs chunks, best first, until the budget is spent. */
export const buildContext = (
  kg: KnowledgeGraphService,
  request: ContextRequest,
): Effect.Effect<BuiltContext, MemoryError> =>
  Effect.gen(function* () {
    const budget = request.budgetTokens ?? 1500;
    const facts: FactCitation[] = [];
    const factLines: string[] = [];
    let tokens = 0;
    for (const f of yield* factsFor(kg, request.query, request.factEntities ?? 0)) {
      const label = `F${facts.length + 1}`;
      const line = `[${label}] ${f.entity} · ${f.attribute} = ${JSON.stringify(f.value)}`;
      const cost = estimateTokens(line) + 1;
      if (tokens + cost > budget) break;
      facts.push({ label, ...f });
      factLines.push(line);
      tokens += cost;
    }
    const { results } = yield* kg.search({
      query: request.query,
      k: request.k ?? 8,
      ...(request.mode ? { mode: request.mode } : {}),
      ...(request.filter ? { filter: request.filter } : {}),
    });
    const blocks: string[] = [];
    const citations: Citation[] = [];
    for (const hit of results) {
      const block = `[${citations.length + 1}] (${hit.documentId}) ${hit.text}`;
      const cost = estimateTokens(block) + 1;
      if (tokens + cost > budget) continue;
      blocks.push(block);
      citations.push({
        n: citations.length + 1,
        documentId: hit.documentId,
        chunkId: hit.chunkId,
        score: hit.score,
      });
      tokens += cost;
    }
    const text = [factLines.join("\n"), ...blocks].filter((b) => b.length > 0).join("\n\n");
    return { text, citations, facts, tokens };
  });

/** The default instruction for answering from a context. */
export const DEFAULT_RAG_SYSTEM =
  "Answer the question using only the numbered context below. Cite the sources you use as [n] (or [Fn] for a fact). " +
  "If the context does not contain the answer, say so.";

/** Retrieves a context for `question` and asks the model through the router to answer from it. */
export const generateWithContext = (
  kg: KnowledgeGraphService,
  router: ModelRouter,
  request: ContextRequest & {
    readonly question?: string;
    readonly choice: ModelChoice;
    readonly context: CallContext;
    readonly system?: string;
  },
): Effect.Effect<
  {
    readonly text: string;
    readonly citations: ReadonlyArray<Citation>;
    readonly facts: ReadonlyArray<FactCitation>;
    readonly response: ModelResponse;
  },
  MemoryError | ProviderError
> =>
  Effect.gen(function* () {
    const built = yield* buildContext(kg, request);
    const response = yield* router.generate(request.choice, {
      messages: [
        {
          role: "system",
          content: `${request.system ?? DEFAULT_RAG_SYSTEM}\n\nContext:\n${built.text || "(nothing found)"}`,
        },
        { role: "user", content: request.question ?? request.query },
      ],
      context: request.context,
    });
    return { text: response.text, citations: built.citations, facts: built.facts, response };
  });
