/**
 * Encodes rows in Postgres' binary COPY format, so PGlite ingests vectors without parsing
 * their text form (its bottleneck). Only the column kinds the chunk table needs.
 */

/** One column value: text, a 32-bit integer, jsonb (given as its JSON text) or a pgvector vector. */
export type CopyValue =
  | { readonly kind: "text"; readonly value: string }
  | { readonly kind: "int4"; readonly value: number }
  | { readonly kind: "jsonb"; readonly value: string }
  | { readonly kind: "vector"; readonly value: ArrayLike<number> };

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
const encoder = new TextEncoder();

const fieldSize = (value: CopyValue, bytes: Uint8Array | undefined): number => {
  switch (value.kind) {
    case "text":
      return bytes!.length;
    case "jsonb":
      return 1 + bytes!.length;
    case "int4":
      return 4;
    case "vector":
      return 4 + 4 * value.value.length;
  }
};

/** Encodes `rows` (all with the same columns) as one binary COPY stream. */
export const encodeCopyBinary = (rows: ReadonlyArray<ReadonlyArray<CopyValue>>): Blob => {
  const parts: Uint8Array[] = [];
  const header = new Uint8Array(19); // signature, flags (0), header extension length (0)
  header.set(SIGNATURE, 0);
  parts.push(header);
  for (const row of rows) {
    const encoded = row.map((v) =>
      v.kind === "text" || v.kind === "jsonb" ? encoder.encode(v.value) : undefined,
    );
    let size = 2;
    row.forEach((v, i) => {
      size += 4 + fieldSize(v, encoded[i]);
    });
    const buf = new Uint8Array(size);
    const view = new DataView(buf.buffer);
    let at = 0;
    view.setInt16(at, row.length);
    at += 2;
    row.forEach((v, i) => {
      const bytes = encoded[i];
      view.setInt32(at, fieldSize(v, bytes));
      at += 4;
      switch (v.kind) {
        case "text":
          buf.set(bytes!, at);
          at += bytes!.length;
          break;
        case "jsonb":
          buf[at++] = 1; // jsonb binary format version
          buf.set(bytes!, at);
          at += bytes!.length;
          break;
        case "int4":
          view.setInt32(at, v.value);
          at += 4;
          break;
        case "vector":
          view.setInt16(at, v.value.length);
          view.setInt16(at + 2, 0);
          at += 4;
          for (let k = 0; k < v.value.length; k++) {
            view.setFloat32(at, v.value[k]!);
            at += 4;
          }
          break;
      }
    });
    parts.push(buf);
  }
  const trailer = new Uint8Array(2);
  new DataView(trailer.buffer).setInt16(0, -1);
  parts.push(trailer);
  return new Blob(parts);
};
