/**
 * `Embedder`: turns texts into vectors. Two adapters:
 * - `layerHashingEmbedder` — the offline default. It needs no key and no downloaded weights: it
 *   hashes word stems and character trigrams (English stop words left out) into a fixed-size
 *   vector (the "hashing trick"), log-weighted and L2-normalised. It measures *lexical* overlap —
 *   shared words and word pieces, so "running" is near "runner" — and nothing more: it knows no
 *   synonyms ("car" is not near "automobile"), no word order beyond trigrams, no other language's
 *   equivalents. Use a provider's embeddings for semantic search.
 *   Gotcha: its name carries a version (`hashing-v2-384`; version 1 was named `hashing-384`): a
 *   store remembers which embedder made its vectors and never mixes two, so a store an older
 *   version filled keeps being served by that version (`makeKnowledgeGraph` picks it; version 1
 *   stays here for that), and a new store gets the newest.
 * - `layerRouterEmbedder` — a provider's embeddings through the runtime's `ModelRouter.embed`.
 */
import { Context, Effect, Layer } from "effect";
import type { ModelChoice, ModelRouter } from "../runtime/model.ts";
import { EmbedError } from "./errors.ts";

/** The embedder port. Every vector it returns has `dimension` numbers. */
export interface EmbedderService {
  /** For logs and the CLI: `hashing-v2-384`, `router:openai/text-embedding-3-small`. */
  readonly name: string;
  readonly dimension: number;
  readonly embed: (
    texts: ReadonlyArray<string>,
  ) => Effect.Effect<ReadonlyArray<ReadonlyArray<number>>, EmbedError>;
}

/** The embedder service. */
export class Embedder extends Context.Tag("arbor/knowledge/Embedder")<Embedder, EmbedderService>() {}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32 bits, of `text` continued from the state `h` (unsigned at the end). */
const fnv1a = (text: string, h = FNV_OFFSET): number => {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
};

// The features' kind prefixes, hashed once: a feature's hash continues from its prefix's.
const WORD = fnv1a("w:");
const STEM = fnv1a("s:");
const TRIGRAM = fnv1a("t:");

/**
 * English function words: in every text, so they only add noise to a similarity. They are left
 * out, their trigrams too (the full-text side drops the same kind of words).
 */
const STOP_WORDS = new Set(
  (
    "a about after all also an and any are as at be been before being both but by can could did do does " +
    "each for from had has have he her here his how i if in into is it its just may me more most my no " +
    "not now of on only or other our out over same she should so some such than that the their them " +
    "then there these they this those through to too under up use used using very was we were what " +
    "when where which while who why will with would you your"
  ).split(" "),
);

const SUFFIXES = [
  "ational",
  "ization",
  "fulness",
  "iveness",
  "ations",
  "ation",
  "ments",
  "ment",
  "ness",
  "ings",
  "ing",
  "edly",
  "ed",
  "ers",
  "er",
  "ly",
  "able",
  "ible",
  "ity",
  "ive",
  "ize",
  "ise",
  "al",
];

/**
 * A light English stemmer (plural, then one common inflectional or derivational suffix, then a
 * final `y`/`e` and a doubled consonant): "runs", "running" and "runner" all become "run",
 * "directory" and "directories" "directori". Crude next to Snowball, and enough for hashing.
 */
export const stem = (word: string): string => {
  if (word.length <= 3) return word;
  let s = word;
  if (s.endsWith("ies") && s.length > 4) s = `${s.slice(0, -3)}y`;
  else if (s.endsWith("sses")) s = s.slice(0, -2);
  else if (s.endsWith("s") && !s.endsWith("ss") && !s.endsWith("us") && !s.endsWith("is")) s = s.slice(0, -1);
  for (const suffix of SUFFIXES) {
    if (s.endsWith(suffix) && s.length - suffix.length >= 3) {
      s = s.slice(0, -suffix.length);
      break;
    }
  }
  if (s.endsWith("y") && s.length > 3) s = `${s.slice(0, -1)}i`;
  if (s.endsWith("e") && s.length > 3) s = s.slice(0, -1);
  const last = s[s.length - 1]!;
  if (s.length > 3 && last === s[s.length - 2] && !"lsz".includes(last)) s = s.slice(0, -1);
  return s;
};

/** One word's features for one dimension: (index, signed weight) pairs, in the order they are added. */
type WordFeatures = Float64Array;

const NO_FEATURES: WordFeatures = new Float64Array(0);

/** Version 1's crude stem (kept for the stores version 1 filled). */
const stemV1 = (word: string): string => word.replace(/(ing|ers|er|ed|es|s|ly)$/u, "").slice(0, 12);

const wordFeatures = (word: string, dimension: number, version: HashingVersion): WordFeatures => {
  if (version === 2 && STOP_WORDS.has(word)) return NO_FEATURES;
  const out: number[] = [];
  const add = (hash: number, weight: number) => {
    const h = hash >>> 0;
    out.push(h % dimension, h & 0x80000000 ? -weight : weight);
  };
  if (version === 2) {
    // The word counts through its stem only: a second feature for the word itself would weigh a
    // word twice against its inflections, which the trigrams already tell apart.
    add(fnv1a(stem(word), STEM), 1);
  } else {
    add(fnv1a(word, WORD), 1);
    const s = stemV1(word);
    if (s.length >= 3) add(fnv1a(s, STEM), 1);
  }
  const padded = `^${word}$`;
  for (let i = 0; i + 3 <= padded.length; i++) {
    let h = TRIGRAM;
    for (let j = i; j < i + 3; j++) h = Math.imul(h ^ padded.charCodeAt(j), FNV_PRIME);
    add(h, 0.5);
  }
  return Float64Array.from(out);
};

/**
 * Words' features by dimension, kept while they are few: real text repeats its words, so most
 * words of a load are hashed once.
 */
const featureCache = new Map<number, Map<string, WordFeatures>>();
const FEATURE_CACHE_LIMIT = 100_000;

const featuresOf = (word: string, dimension: number, version: HashingVersion): WordFeatures => {
  const key = dimension * 8 + version;
  let cache = featureCache.get(key);
  if (!cache) {
    cache = new Map();
    featureCache.set(key, cache);
  }
  let features = cache.get(word);
  if (!features) {
    features = wordFeatures(word, dimension, version);
    if (cache.size >= FEATURE_CACHE_LIMIT) cache.clear();
    cache.set(word, features);
  }
  return features;
};

/** Embeds one text with the hashing trick (see the module comment for what it is and is not). */
export const hashingVector = (
  text: string,
  dimension: number,
  version: HashingVersion = HASHING_EMBEDDER_VERSION,
): number[] => {
  // Sums per index, and the indices in the order first touched (the order the norm is summed in).
  const sums = new Float64Array(dimension);
  const touched = new Uint8Array(dimension);
  const order: number[] = [];
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const word of words) {
    const features = featuresOf(word, dimension, version);
    for (let f = 0; f < features.length; f += 2) {
      const index = features[f]!;
      if (touched[index] === 0) {
        touched[index] = 1;
        order.push(index);
      }
      sums[index]! += features[f + 1]!;
    }
  }
  const vector = new Array<number>(dimension).fill(0);
  let norm = 0;
  for (const index of order) {
    const value = sums[index]!;
    const weighted = Math.sign(value) * Math.log1p(Math.abs(value));
    vector[index] = weighted;
    norm += weighted * weighted;
  }
  if (norm === 0) {
    vector[0] = 1; // a text with no words still gets a valid (unit) vector
    return vector;
  }
  const scale = 1 / Math.sqrt(norm);
  for (let d = 0; d < dimension; d++) vector[d] = vector[d]! * scale;
  return vector;
};

/** The hashing embedder's versions: 1 hashed words and crude stems; 2 (v2: better stems, stop words out). */
export type HashingVersion = 1 | 2;

/**
 * The hashing embedder's newest version, part of its name: bumped whenever its vectors change, so
 * a store never mixes vectors of two versions.
 */
export const HASHING_EMBEDDER_VERSION: HashingVersion = 2;

/** The name a version of the hashing embedder goes by (version 1 predates the version in names). */
const hashingName = (version: HashingVersion, dimension: number): string =>
  version === 1 ? `hashing-${dimension}` : `hashing-v${version}-${dimension}`;

/**
 * The hashing version that made vectors named `name` (`hashing-384`, `hashing-v2-384`), if any:
 * how a store filled by an older version keeps being served by it.
 */
export const hashingVersionOf = (name: string): HashingVersion | undefined => {
  const match = /^hashing-(?:v(\d+)-)?\d+$/.exec(name);
  if (!match) return undefined;
  const version = Number(match[1] ?? 1);
  return version === 1 || version === 2 ? version : undefined;
};

/** The offline hashing embedder (default dimension 384, newest version). */
export const makeHashingEmbedder = (
  options: { readonly dimension?: number; readonly version?: HashingVersion } = {},
): EmbedderService => {
  const dimension = options.dimension ?? 384;
  const version = options.version ?? HASHING_EMBEDDER_VERSION;
  return {
    name: hashingName(version, dimension),
    dimension,
    embed: (texts) => Effect.sync(() => texts.map((t) => hashingVector(t, dimension, version))),
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
