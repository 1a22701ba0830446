/**
 * Bulk loads: documents read from a folder (text and Markdown files) or a JSON Lines file, and
 * cut into batches that each fit one wire frame, so a load of any size goes in several frames.
 *
 * Gotcha: a single document bigger than a frame cannot go in `memory.ingestMany`; `framedBatches`
 * marks it `oversized`, and the sender splits its text over `memory.ingestPart` calls.
 */
import { createReadStream, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative } from "node:path";
import { createInterface } from "node:readline";
import type { IngestParams } from "./wire.ts";
import { MAX_INGEST_BATCH } from "./wire.ts";

/** File extensions a folder load reads. */
export const TEXT_EXTENSIONS: ReadonlyArray<string> = [".md", ".markdown", ".txt", ".rst", ".adoc"];

/** A line of a JSON Lines load that is not a document, and why. */
export class BulkSourceError extends Error {
  readonly _tag = "BulkSourceError";
}

/** The text files under `folder` (sorted, hidden folders and `node_modules` skipped). */
const filesUnder = (folder: string): string[] => {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith(".") || name === "node_modules") continue;
      const path = join(dir, name);
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else if (TEXT_EXTENSIONS.includes(extname(name).toLowerCase())) out.push(path);
    }
  };
  walk(folder);
  return out;
};

/**
 * The documents of a source: every text file of a folder (its id the path relative to the folder,
 * metadata `{source: path}`), or each line of a `.jsonl` file (`{documentId, text, metadata?}`).
 * Read lazily, so a large load never sits in memory whole.
 */
export async function* readDocuments(path: string): AsyncGenerator<IngestParams> {
  if (statSync(path).isDirectory()) {
    for (const file of filesUnder(path)) {
      const text = readFileSync(file, "utf8");
      if (text.trim() === "") continue;
      const id = relative(path, file).split("\\").join("/");
      yield { documentId: id, text, metadata: { source: id } };
    }
    return;
  }
  if (!path.endsWith(".jsonl")) {
    yield { documentId: path, text: readFileSync(path, "utf8"), metadata: { source: path } };
    return;
  }
  const lines = createInterface({
    input: createReadStream(path, "utf8"),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  for await (const line of lines) {
    n += 1;
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new BulkSourceError(`${path}:${n}: not JSON`);
    }
    const d = value as { documentId?: unknown; text?: unknown; metadata?: unknown };
    if (typeof d.documentId !== "string" || typeof d.text !== "string")
      throw new BulkSourceError(`${path}:${n}: each line needs a string documentId and text`);
    const metadata =
      typeof d.metadata === "object" && d.metadata !== null && !Array.isArray(d.metadata)
        ? (d.metadata as Record<string, unknown>)
        : undefined;
    yield { documentId: d.documentId, text: d.text, ...(metadata ? { metadata } : {}) };
  }
}

/**
 * How many documents a source holds, at most (for a progress bar): a folder's text files, a JSON
 * Lines file's non-empty lines (counted in one streaming pass), or 1.
 */
export const countDocuments = async (path: string): Promise<number> => {
  if (statSync(path).isDirectory()) return filesUnder(path).length;
  if (!path.endsWith(".jsonl")) return 1;
  let n = 0;
  const lines = createInterface({
    input: createReadStream(path, "utf8"),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) if (line.trim() !== "") n += 1;
  return n;
};

/** One unit to send: a batch for `memory.ingestMany`, or one document too big for a frame. */
export type Framed =
  | { readonly kind: "batch"; readonly documents: ReadonlyArray<IngestParams> }
  | { readonly kind: "oversized"; readonly document: IngestParams };

/**
 * Groups documents into batches of at most `maxDocuments` whose JSON stays under `maxBytes` (with
 * room for the request's envelope); a document alone over `maxBytes` comes out `oversized`.
 */
export async function* framedBatches(
  documents: AsyncIterable<IngestParams>,
  options: { readonly maxBytes: number; readonly maxDocuments?: number },
): AsyncGenerator<Framed> {
  const budget = options.maxBytes - 1024;
  const maxDocuments = Math.min(options.maxDocuments ?? MAX_INGEST_BATCH, MAX_INGEST_BATCH);
  let batch: IngestParams[] = [];
  let bytes = 0;
  for await (const d of documents) {
    const size = Buffer.byteLength(JSON.stringify(d)) + 1;
    if (size > budget) {
      yield { kind: "oversized", document: d };
      continue;
    }
    if (batch.length > 0 && (bytes + size > budget || batch.length >= maxDocuments)) {
      yield { kind: "batch", documents: batch };
      batch = [];
      bytes = 0;
    }
    batch.push(d);
    bytes += size;
  }
  if (batch.length > 0) yield { kind: "batch", documents: batch };
}

/** Splits a text into parts of at most `maxBytes` UTF-8 bytes each (never inside a character). */
export const splitText = (text: string, maxBytes: number): ReadonlyArray<string> => {
  const parts: string[] = [];
  let start = 0;
  while (start < text.length) {
    // Characters take at most 3 bytes in UTF-8 per UTF-16 unit (4 per surrogate pair).
    let end = Math.min(text.length, start + Math.max(1, Math.floor(maxBytes / 3)));
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff) end -= 1;
    parts.push(text.slice(start, end));
    start = end;
  }
  return parts;
};
