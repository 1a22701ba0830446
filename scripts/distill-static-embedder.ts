/**
 * Builds `knowledge/assets/use-static-512.bin`, the table of the static embedder: every word piece
 * of the Universal Sentence Encoder's vocabulary embedded once by the encoder itself, the mean row
 * subtracted (it is what all pieces share, so it carries no meaning), each row L2-normalised and
 * stored as int8. Run: `npx tsx scripts/distill-static-embedder.ts` (~30 s on two cores).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Effect } from "effect";
import { makeSentenceEmbedder, sentenceModelDir } from "../knowledge/embedder-sentence.ts";
import { encodeStaticTable, STATIC_TABLE_PATH } from "../knowledge/embedder-static.ts";
import { RESERVED_PIECES } from "../knowledge/internal/pieces.ts";
import { packageRoot } from "../runtime/package-root.ts";

const vocabulary = JSON.parse(readFileSync(join(sentenceModelDir(), "vocab.json"), "utf8")) as Array<
  [string, number]
>;
const texts = vocabulary.map(([piece], i) => (i < RESERVED_PIECES ? "" : piece.replace(/^\u2581/, "")));

const rows = await Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      const encoder = yield* makeSentenceEmbedder;
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += 256) {
        const batch = texts.slice(i, i + 256);
        const vectors = yield* encoder.embed(batch.map((t) => t || "."));
        out.push(...vectors.map((v, j) => (batch[j] === "" ? new Array<number>(v.length).fill(0) : [...v])));
        process.stderr.write(`\r${Math.min(i + 256, texts.length)} / ${texts.length} pieces`);
      }
      process.stderr.write("\n");
      return out;
    }),
  ),
);

const dimension = rows[0]!.length;
const mean = new Array<number>(dimension).fill(0);
const real = rows.filter((_, i) => i >= RESERVED_PIECES);
for (const row of real) for (let d = 0; d < dimension; d++) mean[d]! += row[d]! / real.length;
let scale = 0;
const centred = rows.map((row, i) => {
  if (i < RESERVED_PIECES) return row;
  const c = row.map((v, d) => v - mean[d]!);
  const norm = Math.sqrt(c.reduce((n, v) => n + v * v, 0)) || 1;
  const unit = c.map((v) => v / norm);
  for (const v of unit) scale = Math.max(scale, Math.abs(v));
  return unit;
});
const file = join(packageRoot(), STATIC_TABLE_PATH);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, encodeStaticTable(centred, scale));
process.stderr.write(`wrote ${file}: ${rows.length} rows × ${dimension}\n`);
