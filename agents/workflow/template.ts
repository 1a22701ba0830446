/**
 * Step inputs are templates: `{{input}}` is the workflow's input, `{{steps.<id>.output}}` an earlier
 * step's output. Nothing else is substituted, so a stray `{{…}}` is refused when the spec is checked.
 */

const placeholder = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** A reference in a template: the workflow input, or one step's output. */
export type Reference = { readonly kind: "input" } | { readonly kind: "step"; readonly step: string };

/** The references of a template; `undefined` entries are placeholders that name nothing known. */
export const referencesOf = (
  template: string,
): ReadonlyArray<{ readonly text: string; readonly ref: Reference | undefined }> =>
  [...template.matchAll(placeholder)].map((m) => {
    const text = m[1]!;
    if (text === "input") return { text, ref: { kind: "input" } };
    const step = /^steps\.([A-Za-z][A-Za-z0-9_-]{0,63})\.output$/.exec(text)?.[1];
    return { text, ref: step === undefined ? undefined : { kind: "step", step } };
  });

/** A template cut at its placeholders: literal text, then what fills each placeholder. */
type Part = string | { readonly whole: string; readonly ref: Reference | undefined };

/** Templates as cut into parts, by their text (a workflow renders the same few templates every run). */
const parsed = new Map<string, ReadonlyArray<Part>>();
const maxParsed = 1_000;

const partsOf = (template: string): ReadonlyArray<Part> => {
  let parts = parsed.get(template);
  if (parts !== undefined) return parts;
  const cut: Part[] = [];
  let from = 0;
  for (const m of template.matchAll(placeholder)) {
    if (m.index > from) cut.push(template.slice(from, m.index));
    const text = m[1]!;
    const step = /^steps\.(.+)\.output$/.exec(text)?.[1];
    cut.push({
      whole: m[0],
      ref: text === "input" ? { kind: "input" } : step === undefined ? undefined : { kind: "step", step },
    });
    from = m.index + m[0].length;
  }
  if (from < template.length) cut.push(template.slice(from));
  parts = cut;
  if (parsed.size >= maxParsed) parsed.clear();
  parsed.set(template, parts);
  return parts;
};

/** Fills a template from the workflow input and the outputs so far (a placeholder naming nothing known stays as written). */
export const render = (template: string, input: string, outputs: ReadonlyMap<string, string>): string => {
  let text = "";
  for (const part of partsOf(template)) {
    if (typeof part === "string") text += part;
    else if (part.ref?.kind === "input") text += input;
    else if (part.ref !== undefined && outputs.has(part.ref.step)) text += outputs.get(part.ref.step)!;
    else text += part.whole;
  }
  return text;
};
