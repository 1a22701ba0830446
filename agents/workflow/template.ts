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

/** Fills a template from the workflow input and the outputs so far. */
export const render = (template: string, input: string, outputs: ReadonlyMap<string, string>): string =>
  template.replace(placeholder, (whole, text: string) => {
    if (text === "input") return input;
    const step = /^steps\.(.+)\.output$/.exec(text)?.[1];
    return step !== undefined && outputs.has(step) ? outputs.get(step)! : whole;
  });
