/**
 * Scoring one answer: exact match, containment, a regular expression, validity against a JSON Schema
 * (the JSON object or array in the answer, checked with Ajv), or a judge model's score from 0 to 10.
 * Every score is from 0 to 1.
 */
import { Ajv } from "ajv";
import { Effect } from "effect";
import type { Scorer } from "./suite.ts";

const ajv = new Ajv({ allErrors: false, strict: false });

/** The JSON value in an answer: all of it, or the part from its first `{`/`[` to the last `}`/`]`. */
const jsonIn = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    const start = text.search(/[[{]/);
    const end = Math.max(text.lastIndexOf("}"), text.lastIndexOf("]"));
    if (start < 0 || end < start) return undefined;
    try {
      return JSON.parse(text.slice(start, end + 1));
    } catch {
      return undefined;
    }
  }
};

/** The judge's score: the first number in its answer, out of 10. */
export const judgeScore = (answer: string): number | undefined => {
  const found = /(\d+(?:\.\d+)?)/.exec(answer)?.[1];
  if (found === undefined) return undefined;
  return Math.max(0, Math.min(1, Number(found) / 10));
};

/** What a judge is asked. */
export const judgePrompt = (rubric: string, task: string, answer: string) =>
  `Rubric: ${rubric}\nTask: ${task}\nAnswer: ${answer}\nReply with one score from 0 (fails the rubric) to 10 (meets it fully), then one sentence why.`;

/** Scores `output`; `judge` asks the judge agent (only judge scorers call it). */
export const score = (
  scorer: Scorer,
  task: string,
  output: string,
  judge: (prompt: string) => Effect.Effect<string, { readonly message: string }>,
): Effect.Effect<{ readonly score: number; readonly note?: string }> => {
  if ("exact" in scorer) return Effect.succeed({ score: output.trim() === scorer.exact.trim() ? 1 : 0 });
  if ("contains" in scorer) return Effect.succeed({ score: output.includes(scorer.contains) ? 1 : 0 });
  if ("regex" in scorer) return Effect.succeed({ score: new RegExp(scorer.regex).test(output) ? 1 : 0 });
  if ("jsonSchema" in scorer) {
    const value = jsonIn(output);
    if (value === undefined) return Effect.succeed({ score: 0, note: "no JSON in the answer" });
    const valid = ajv.validate(scorer.jsonSchema, value);
    return Effect.succeed(valid ? { score: 1 } : { score: 0, note: ajv.errorsText(ajv.errors) });
  }
  return judge(judgePrompt(scorer.judge.rubric, task, output)).pipe(
    Effect.map((answer) => {
      const s = judgeScore(answer);
      return s === undefined
        ? { score: 0, note: `the judge gave no score: ${answer.slice(0, 120)}` }
        : { score: s };
    }),
    Effect.catchAll((error) => Effect.succeed({ score: 0, note: `the judge failed: ${error.message}` })),
  );
};

/** Problems of a scorer that can be found before running (a bad regex, a bad JSON Schema). */
export const scorerProblem = (scorer: Scorer): string | undefined => {
  if ("regex" in scorer) {
    try {
      new RegExp(scorer.regex);
    } catch (error) {
      return `not a regular expression: ${(error as Error).message}`;
    }
  }
  if ("jsonSchema" in scorer) {
    try {
      ajv.compile(scorer.jsonSchema);
    } catch (error) {
      return `not a JSON Schema: ${(error as Error).message}`;
    }
  }
  return undefined;
};
