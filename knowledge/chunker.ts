/**
 * Splits text and Markdown into chunks by structure: sections (headings), then paragraphs, then
 * sentences, then (for a sentence longer than the limit) plain character windows. Chunks within a
 * section overlap by the last sentences of the previous chunk, up to `overlapChars`.
 */

/** Chunking limits, in characters. */
export interface ChunkOptions {
  /** Largest chunk (default 1200 characters, about 300 tokens). */
  readonly maxChars?: number;
  /** How much of the previous chunk's tail a chunk repeats (default 150). */
  readonly overlapChars?: number;
}

/** One chunk: its text and the headings above it. */
export interface TextChunk {
  readonly ord: number;
  readonly text: string;
  readonly headings: ReadonlyArray<string>;
}

interface Section {
  readonly headings: ReadonlyArray<string>;
  readonly body: string;
}

const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;

/** Sections of a Markdown text (plain text is one section with no headings). Code fences are kept whole. */
const sections = (text: string): ReadonlyArray<Section> => {
  const out: Section[] = [];
  let path: string[] = [];
  let lines: string[] = [];
  let fenced = false;
  const flush = () => {
    const body = lines.join("\n").trim();
    if (body) out.push({ headings: [...path], body });
    lines = [];
  };
  for (const line of text.replace(/\r\n?/g, "\n").split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : HEADING.exec(line);
    if (heading) {
      flush();
      const level = heading[1]!.length;
      path = [...path.slice(0, level - 1), heading[2]!];
      continue;
    }
    lines.push(line);
  }
  flush();
  return out;
};

/**
 * A paragraph's sentences: each ends at `.`, `!` or `?` (and closing quotes or brackets) followed
 * by white space or the end, or at a line break, so "0.7", "v1.2.3" and "fs.readFile" stay whole.
 */
const sentences = (paragraph: string): ReadonlyArray<string> =>
  paragraph
    .match(/[^\n]*?(?:[.!?]+["')\]]*(?=\s|$)|\n|$)\s*/g)
    ?.map((s) => s.trim())
    .filter(Boolean) ?? [paragraph];

/** Pieces no longer than `max`: paragraphs, else sentences, else character windows; `para` numbers the paragraph. */
const pieces = (body: string, max: number): ReadonlyArray<{ readonly text: string; readonly para: number }> =>
  body
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .flatMap((p, para) =>
      (p.length <= max
        ? [p]
        : sentences(p).flatMap((s) =>
            s.length <= max
              ? [s]
              : Array.from({ length: Math.ceil(s.length / max) }, (_, i) => s.slice(i * max, (i + 1) * max)),
          )
      ).map((text) => ({ text, para })),
    );

/** The tail of `text` to repeat: whole sentences when they fit in `limit`, else the last words that do. */
const tail = (text: string, limit: number): string => {
  if (limit <= 0) return "";
  const parts = sentences(text);
  let out = "";
  for (let i = parts.length - 1; i >= 0; i--) {
    const next = out ? `${parts[i]} ${out}` : parts[i]!;
    if (next.length > limit) break;
    out = next;
  }
  if (out) return out;
  const cut = text.slice(-limit);
  const space = cut.search(/\s/);
  return space >= 0 ? cut.slice(space).trim() : "";
};

/** The titles of a text's headings, in order (a document may be headings only). */
const headingTitles = (text: string): ReadonlyArray<string> =>
  text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .flatMap((line) => {
      const title = HEADING.exec(line)?.[2]?.trim();
      return title ? [title] : [];
    });

/**
 * Chunks `text` (plain or Markdown). Deterministic: the same text always gives the same chunks. A
 * text of headings only (a title, an outline) is chunked as its headings' titles, so it can be found.
 */
export const chunkText = (text: string, options: ChunkOptions = {}): ReadonlyArray<TextChunk> => {
  const max = Math.max(50, options.maxChars ?? 1200);
  const overlap = Math.min(Math.max(0, options.overlapChars ?? 150), Math.floor(max / 3));
  const chunks: TextChunk[] = [];
  const withBody = sections(text);
  const titles = withBody.length === 0 ? headingTitles(text) : [];
  const all = titles.length > 0 ? [{ headings: [], body: titles.join("\n\n") }] : withBody;
  for (const section of all) {
    let current = "";
    let carried = ""; // the overlap that opened `current`
    let lastPara = -1;
    const emit = () => {
      if (current && current !== carried)
        chunks.push({ ord: chunks.length, text: current, headings: section.headings });
      carried = tail(current, overlap);
      current = carried;
    };
    for (const piece of pieces(section.body, max - overlap - 2)) {
      const sep = piece.para === lastPara ? " " : "\n\n";
      lastPara = piece.para;
      if (current && current.length + sep.length + piece.text.length > max) emit();
      current = current ? `${current}${current === carried ? "\n\n" : sep}${piece.text}` : piece.text;
    }
    emit();
  }
  return chunks;
};
