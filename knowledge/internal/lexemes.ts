/**
 * Full-text lexemes, made the same way for what is stored and what is asked: a text is split here
 * into words (runs of letters and digits, lower-cased), each distinct word is stemmed once by the
 * database's `english` configuration (Snowball stemmer, stop words dropped) and remembered, and a
 * text's `tsvector` is assembled here and sent ready-made.
 *
 * Why: parsing and stemming every word of every passage in the database (`to_tsvector`) cost about a
 * millisecond a passage in PGlite's WebAssembly, most of a load; real text repeats its words, so a
 * load stems a few thousand distinct words instead of hundreds of thousands. Queries go through the
 * same split and the same stems, so a query word always meets the lexeme its document got.
 *
 * Gotcha: a stop word keeps its position (a phrase "bill of rights" needs "rights" two after
 * "bill"); positions above 16,383 are clamped and a lexeme keeps at most 256 of them, as
 * Postgres does.
 */
import { Effect } from "effect";
import type { StoreError } from "../errors.ts";
import type { SqlClientService } from "../sql-client.ts";

/** A text's lexemes with their (1-based) positions: what a `tsvector` holds. */
export type LexemeVector = ReadonlyMap<string, ReadonlyArray<number>>;

const WORD = /[\p{L}\p{N}]+/gu;
const MAX_POSITION = 16_383;
const MAX_POSITIONS = 256;
/**
 * Bytes of a `tsvector`'s lexemes and positions, at most: Postgres refuses more than 1 MiB (its
 * `MAXSTRPOS`). `fitTsvector` keeps a long text's vector under it.
 */
const TSVECTOR_BYTES = 1_000_000;
const encoder = new TextEncoder();

/**
 * `vector` cut to what one `tsvector` holds: its lexemes in order of first occurrence while their
 * bytes (each lexeme's UTF-8, padded to even, and its positions' count and two bytes each) fit
 * `TSVECTOR_BYTES`. Gotcha: only a book-length text of unusually many distinct words (encoded data,
 * many languages) loses the lexemes that first occur late.
 */
export const fitTsvector = (vector: LexemeVector): LexemeVector => {
  // At most three UTF-8 bytes a UTF-16 unit: nearly every text fits without encoding a lexeme.
  let most = 0;
  for (const [lexeme, positions] of vector) most += 3 * lexeme.length + 3 + 2 * positions.length;
  if (most <= TSVECTOR_BYTES) return vector;
  let bytes = 0;
  const out = new Map<string, ReadonlyArray<number>>();
  for (const [lexeme, positions] of vector) {
    const length = encoder.encode(lexeme).length;
    bytes += length + (length % 2) + 2 + 2 * positions.length;
    if (bytes > TSVECTOR_BYTES) return out;
    out.set(lexeme, positions);
  }
  return vector;
};

/** Longer "words" (encoded data, not language) are left out: a lexeme must fit an index key. */
const MAX_WORD = 500;
/** Distinct words remembered before the cache starts over. */
const CACHE_LIMIT = 500_000;

/** A text's words, lower-cased, in order. */
export const wordsOf = (text: string): ReadonlyArray<string> =>
  (text.toLowerCase().match(WORD) ?? []).filter((w) => w.length <= MAX_WORD);

/** Stems words and assembles lexeme vectors (see the module comment). */
export interface Lexer {
  /** Stems the distinct words of `texts` not stemmed before (one query); run it before `lexemes` and `phrase`. */
  readonly learn: (texts: ReadonlyArray<string>) => Effect.Effect<void, StoreError>;
  /** Learns `texts` and makes their lexeme vectors, splitting each text into words once. */
  readonly vectors: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<LexemeVector>, StoreError>;
  /** A learned text's distinct lexemes, in order of first appearance. */
  readonly lexemes: (text: string) => ReadonlyArray<string>;
  /** A learned phrase as a `tsquery` (`'bill' <2> 'right'`), or undefined when it has only stop words. */
  readonly phrase: (text: string) => string | undefined;
}

/** A lexeme as a tsquery or tsvector operand (quoted, so any character is safe). */
export const quoteLexeme = (lexeme: string): string =>
  `'${lexeme.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;

/** Characters `parseTsvector` looks for. */
const QUOTE = "'".charCodeAt(0);
const BACKSLASH = "\\".charCodeAt(0);
const COLON = ":".charCodeAt(0);
const COMMA = ",".charCodeAt(0);
const SPACE = " ".charCodeAt(0);

/**
 * The entries of a `tsvector` in its text form (`'lexeme':3A,17 'other'`): each lexeme with its
 * positions (weights dropped; none for a lexeme stored without positions).
 */
export const parseTsvector = (text: string): ReadonlyArray<readonly [string, ReadonlyArray<number>]> => {
  // A scanner, not a regular expression: BM25 reads hundreds of these a search.
  const out: Array<readonly [string, ReadonlyArray<number>]> = [];
  let i = text.indexOf("'");
  while (i >= 0 && i < text.length) {
    let lexeme = "";
    let from = i + 1;
    let j = from;
    for (; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (c === QUOTE) {
        if (text.charCodeAt(j + 1) !== QUOTE) break;
        lexeme += text.slice(from, j + 1); // '' is one quote
        from = ++j + 1;
      } else if (c === BACKSLASH) {
        lexeme += text.slice(from, j); // \x is x
        from = ++j;
      }
    }
    lexeme += text.slice(from, j);
    const positions: number[] = [];
    j++;
    if (text.charCodeAt(j) === COLON) {
      let n = 0;
      for (j++; j <= text.length; j++) {
        const c = text.charCodeAt(j);
        if (c >= 48 && c <= 57) n = n * 10 + c - 48;
        else if (c === COMMA || c === SPACE || Number.isNaN(c)) {
          positions.push(n); // NaN: past the end
          n = 0;
          if (c !== COMMA) break;
        } // else a weight letter
      }
    }
    out.push([lexeme, positions]);
    i = text.indexOf("'", j);
  }
  return out;
};

/** A lexeme vector in `tsvector`'s text form. */
export const tsvectorLiteral = (vector: LexemeVector): string =>
  [...vector].map(([lexeme, positions]) => `${quoteLexeme(lexeme)}:${positions.join(",")}`).join(" ");

/** The lexer over `sql`'s `english` configuration, with its own cache of stems. */
export const makeLexer = (sql: SqlClientService): Lexer => {
  const stems = new Map<string, ReadonlyArray<string>>();
  const stemsOf = (word: string): ReadonlyArray<string> => stems.get(word) ?? [];

  /** Stems the words of `split` not stemmed before (one query per 50,000 words). */
  const stem = (split: ReadonlyArray<ReadonlyArray<string>>) =>
    Effect.gen(function* () {
      const unknownOf = () => {
        const unknown = new Set<string>();
        for (const words of split) for (const w of words) if (!stems.has(w)) unknown.add(w);
        return unknown;
      };
      let unknown = unknownOf();
      if (unknown.size === 0) return;
      if (stems.size + unknown.size > CACHE_LIMIT) {
        stems.clear(); // and these texts' words are all stemmed again, the known ones included
        unknown = unknownOf();
      }
      const words = [...unknown];
      for (let i = 0; i < words.length; i += 50_000) {
        const rows = yield* sql.query<{ w: string; l: ReadonlyArray<string> | null }>(
          "SELECT w, tsvector_to_array(to_tsvector('english', w)) AS l FROM unnest($1::text[]) AS w",
          [words.slice(i, i + 50_000)],
        );
        for (const r of rows) stems.set(r.w, r.l ?? []);
      }
    });

  const learn: Lexer["learn"] = (texts) => stem(texts.map(wordsOf));

  /** A text's lexeme vector, or undefined when one of its words is not stemmed yet. */
  const vectorOf = (words: ReadonlyArray<string>): LexemeVector | undefined => {
    const out = new Map<string, number[]>();
    let position = 0;
    for (const word of words) {
      position = Math.min(position + 1, MAX_POSITION);
      const found = stems.get(word);
      if (found === undefined) return undefined;
      for (const lexeme of found) {
        const positions = out.get(lexeme);
        if (!positions) out.set(lexeme, [position]);
        else if (positions.length < MAX_POSITIONS && positions[positions.length - 1]! < position)
          positions.push(position);
      }
    }
    return out;
  };

  // Texts whose words are all stemmed already (most of them once a load is under way: passages
  // after their documents) get their vectors in one pass over their words; the others after their
  // new words are stemmed.
  const vectors: Lexer["vectors"] = (texts) =>
    Effect.suspend(() => {
      const split = texts.map(wordsOf);
      const made = split.map(vectorOf);
      const rest = split.filter((_, i) => made[i] === undefined);
      if (rest.length === 0) return Effect.succeed(made as ReadonlyArray<LexemeVector>);
      return Effect.map(stem(rest), () => made.map((v, i) => v ?? vectorOf(split[i]!)!));
    });

  const lexemes: Lexer["lexemes"] = (text) => [...new Set(wordsOf(text).flatMap(stemsOf))];

  const phrase: Lexer["phrase"] = (text) => {
    let query = "";
    let gap = 0;
    for (const word of wordsOf(text)) {
      gap++;
      const found = stemsOf(word);
      if (found.length === 0) continue;
      const operand = found.length === 1 ? quoteLexeme(found[0]!) : `(${found.map(quoteLexeme).join(" | ")})`;
      query = query === "" ? operand : `${query} ${gap === 1 ? "<->" : `<${gap}>`} ${operand}`;
      gap = 0;
    }
    return query === "" ? undefined : query;
  };

  return { learn, vectors, lexemes, phrase };
};
