/**
 * What the terminal can do: colour only on a TTY and only without `NO_COLOR` (https://no-color.org)
 * or `TERM=dumb`; in-place redrawing only on a TTY. Wrapped lines are counted by display width
 * (string-width: ANSI codes take none, wide characters two), so a redraw moves up exactly as far
 * as the last frame reached, even in a narrow terminal.
 */
import stringWidth from "string-width";

export interface Terminal {
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export const colorOn = (out: Terminal, env: NodeJS.ProcessEnv = process.env): boolean =>
  out.isTTY === true && env.NO_COLOR === undefined && env.TERM !== "dumb";

export const redrawOn = (out: Terminal, env: NodeJS.ProcessEnv = process.env): boolean =>
  out.isTTY === true && env.TERM !== "dumb";

/** How many terminal rows `lines` take when the terminal is `columns` wide. */
export const rowsOf = (lines: ReadonlyArray<string>, columns: number | undefined): number => {
  const width = columns && columns > 0 ? columns : 80;
  return lines.reduce((rows, line) => rows + Math.max(1, Math.ceil(stringWidth(line) / width)), 0);
};

/** The escape sequence that erases a frame of `rows` rows just written (cursor at its end). */
export const eraseRows = (rows: number): string => (rows > 0 ? `\x1b[${rows}A\r\x1b[J` : "");
