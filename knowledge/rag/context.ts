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

/** A context ready to put in a prompt: `[n] (documentId) text` blocks, and what each `[n]` is. */
export interface BuiltContext {
  readonly text: string;
  readonly citations: ReadonlyArray<Citation>;
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
}

/** Retrieves and packs chunks, best first, until the budget is spent. */
export const buildContext = (
  kg: KnowledgeGraphService,
  request: ContextRequest,
): Effect.Effect<BuiltContext, MemoryError> =>
  Effect.gen(function* () {
    const budget = request.budgetTokens ?? 1500;
    const { results } = yield* kg.search({
      query: request.query,
      k: request.k ?? 8,
      ...(request.mode ? { mode: request.mode } : {}),
      ...(request.filter ? { filter: request.filter } : {}),
    });
    const blocks: string[] = [];
    const citations: Citation[] = [];
    let tokens = 0;
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
    return { text: blocks.join("\n\n"), citations, tokens };
  });

/** The default instruction for answering from a context. */
export const DEFAULT_RAG_SYSTEM =
  "Answer the question using only the numbered context below. Cite the sources you use as [n]. " +
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
  { readonly text: string; readonly citations: ReadonlyArray<Citation>; readonly response: ModelResponse },
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
    return { text: response.text, citations: built.citations, response };
  });
