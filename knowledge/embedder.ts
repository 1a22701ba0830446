/**
 * `Embedder`: turns texts into vectors. Two adapters:
 * - `layerHashingEmbedder` — the offline default. It needs no key and no downloaded weights: it
 *   hashes words, crude word stems and character trigrams into a fixed-size vector (the "hashing
 *   trick"), log-weighted and L2-normalised. It measures *lexical* overlap — shared words and word
 *   pieces, so "running" is near "runner" — and nothing more: it knows no synonyms ("car" is not
 *   near "automobile"), no word order beyond trigrams, no other language's equivalents. Use a
 *   provider's embeddings for semantic search.
 * - `layerRouterEmbedder` — a provider's embeddings through the runtime's `ModelRouter.embed`.
 */
import { Context, Effect, Layer } from "effect";
import type { ModelChoice, ModelRouter } from "../runtime/model.ts";
import { EmbedError } from "./errors.ts";

/** The embedder port. Every vector it returns has `dimension` numbers. */
export interface EmbedderService {
  /** For logs and the CLI: `hashing-384`, `router:openai/text-embedding-3-small`. */
  readonly name: string;
  readonly dimension: number;
  readonly embed: (
    texts: ReadonlyArray<string>,
  ) => Effect.Effect<ReadonlyArray<ReadonlyArray<number>>, EmbedError>;
}

/** The embedder service. */
export class Embedder extends Context.Tag("arbor/knowledge/Embedder")<Embedder, EmbedderService>() {}

/** FNV-1a, 32 bits. */
const fnv1a = (text: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
};

/** A crude English stem: enough to bring "runs", "running" and "runner" together. */
const stem = (word: string): string => word.replace(/(ing|ers|er|ed|es|s|ly)$/u, "").slice(0, 12);

/** Embeds one text with the hashing trick (see the module comment for what it is and is not). */
export const hashingVector = (text: string, dimension: number): number[] => {
  const counts = new Map<number, number>();
  const add = (feature: string, weight: number) => {
    const h = fnv1a(feature);
    const index = h % dimension;
    const sign = h & 0x80000000 ? -1 : 1;
    counts.set(index, (counts.get(index) ?? 0) + sign * weight);
  };
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const word of words) {
    add(`w:${word}`, 1);
    const s = stem(word);
    if (s.length >= 3) add(`s:${s}`, 1);
    const padded = `^${word}$`;
    for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, 0.5);
  }
  const vector = new Array<number>(dimension).fill(0);
  let norm = 0;
  for (const [index, value] of counts) {
    const weighted = Math.sign(value) * Math.log1p(Math.abs(value));
    vector[index] = weighted;
    norm += weighted * weighted;
  }
  if (norm === 0) {
    vector[0] = 1; // a text with no words still gets a valid (unit) vector
    return vector;
  }
  const scale = 1 / Math.sqrt(norm);
  return vector.map((v) => v * scale);
};

/** The offline hashing embedder (default dimension 384). */
export const makeHashingEmbedder = (options: { readonly dimension?: number } = {}): EmbedderService => {
  const dimension = options.dimension ?? 384;
  return {
    name: `hashing-${dimension}`,
    dimension,
    embed: (texts) => Effect.sync(() => texts.map((t) => hashingVector(t, dimension))),
  };
};

/** The offline hashing embedder as a layer. */
export const layerHashingEmbedder = (options: { readonly dimension?: number } = {}): Layer.Layer<Embedder> =>
  Layer.succeed(Embedder, makeHashingEmbedder(options));

/** Settings of the router embedder. `dimension` must be what the chosen model returns. */
export interface RouterEmbedderOptions {
  readonly router: ModelRouter;
  readonly choice: ModelChoice;
  readonly dimension: number;
  /** Texts per provider call (default 64). */
  readonly batchSize?: number;
}

/** Embeddings from a provider through the runtime's `ModelRouter.embed`, in batches. */
export const makeRouterEmbedder = (options: RouterEmbedderOptions): EmbedderService => {
  const { router, choice, dimension } = options;
  const batchSize = Math.max(1, options.batchSize ?? 64);
  return {
    name: `router:${choice.provider ?? choice.profile ?? "default"}/${choice.model ?? "default"}`,
    dimension,
    embed: (texts) =>
      Effect.gen(function* () {
        const out: Array<ReadonlyArray<number>> = [];
        for (let i = 0; i < texts.length; i += batchSize) {
          const inputs = texts.slice(i, i + batchSize);
          const response = yield* router
            .embed(choice, { inputs, ...(choice.model ? { model: choice.model } : {}) })
            .pipe(
              Effect.mapError(
                (e) => new EmbedError({ reason: "provider_failed", detail: e.message, fault: e.fault }),
              ),
            );
          if (response.vectors.length !== inputs.length) {
            return yield* new EmbedError({
              reason: "bad_dimension",
              detail: `asked for ${inputs.length} embeddings, got ${response.vectors.length}`,
              fault: "third_party",
            });
          }
          for (const v of response.vectors) {
            if (v.length !== dimension) {
              return yield* new EmbedError({
                reason: "bad_dimension",
                detail: `${response.model} returned ${v.length}-dimensional vectors; the knowledge store is configured for ${dimension}`,
                fault: "config",
              });
            }
            out.push(v);
          }
        }
        return out;
      }),
  };
};

/** The router embedder as a layer. */
export const layerRouterEmbedder = (options: RouterEmbedderOptions): Layer.Layer<Embedder> =>
  Layer.succeed(Embedder, makeRouterEmbedder(options));
