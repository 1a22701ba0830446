/**
 * The semantic offline embedders: the Universal Sentence Encoder loaded from its npm package (no
 * download) and the static table distilled from it; chosen by `knowledge.embedder`, and a store
 * keeps refusing vectors of another embedder.
 */
import { Cause, Effect, Either, Exit, ManagedRuntime, Option } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { describeKnowledge, knowledgeConfig, layerKnowledge } from "../../knowledge/config.ts";
import { makeSentenceEmbedder } from "../../knowledge/embedder-sentence.ts";
import { makeStaticEmbedder } from "../../knowledge/embedder-static.ts";
import { KnowledgeGraph } from "../../knowledge/knowledge-graph.ts";
import { removeDataDir, seededDataDir } from "../support/seeded-data-dir.ts";

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) =>
  a.reduce((s, v, i) => s + v * b[i]!, 0);
const norm = (a: ReadonlyArray<number>) => Math.sqrt(cosine(a, a));

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) removeDataDir(dir);
});

describe("semantic offline embedders", () => {
  it("the sentence encoder loads from its package and puts a paraphrase near, an unrelated sentence far", async () => {
    const [cat, kitten, rates, empty] = await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(makeSentenceEmbedder, (e) =>
          e.embed([
            "The cat sat on the mat.",
            "A kitten rested on the rug.",
            "Interest rates rose sharply this quarter.",
            "",
          ]),
        ),
      ),
    );
    expect(cat).toHaveLength(512);
    expect(cosine(cat!, kitten!) / (norm(cat!) * norm(kitten!))).toBeGreaterThan(0.5);
    expect(cosine(cat!, rates!) / (norm(cat!) * norm(rates!))).toBeLessThan(0.3);
    expect(empty!.every(Number.isFinite)).toBe(true);
  });

  it("the static table knows synonyms the hashing embedder cannot (car ~ automobile, not banana)", async () => {
    const embedder = await Effect.runPromise(makeStaticEmbedder);
    const [car, automobile, banana, nothing] = await Effect.runPromise(
      embedder.embed(["car", "automobile", "banana", "!!!"]),
    );
    expect(embedder).toMatchObject({ name: "use-static-512-v1", dimension: 512 });
    expect(cosine(car!, automobile!)).toBeGreaterThan(cosine(car!, banana!) + 0.1);
    expect(norm(nothing!)).toBeCloseTo(1); // a text without words still gets a unit vector
  });

  it("is chosen by knowledge.embedder; a store made by one embedder refuses another with what to do", async () => {
    const dataDir = seededDataDir("arbor-semantic-", "bare");
    dirs.push(dataDir);
    const open = async (embedder: string) => {
      const config = Either.getOrThrow(knowledgeConfig({ dataDir, embedder }, {}));
      const rt = ManagedRuntime.make(layerKnowledge(config));
      const exit = await rt.runPromiseExit(
        Effect.flatMap(KnowledgeGraph, (kg) =>
          Effect.zipRight(
            kg.ingest({ documentId: "garage", text: "My automobile is parked in the garage." }),
            kg.search({ query: "car", mode: "vector", k: 1 }),
          ),
        ),
      );
      const result = Exit.isSuccess(exit)
        ? Either.right(exit.value)
        : Either.left(Option.getOrUndefined(Cause.failureOption(exit.cause)));
      await rt.dispose();
      return { config, result };
    };
    const first = await open("static");
    expect(describeKnowledge(first.config)).toContain("offline static embedder (512 dims");
    expect(Either.getOrThrow(first.result).results[0]?.documentId).toBe("garage");
    const other = await open("sentence");
    const refused = Either.isLeft(other.result) ? other.result.left : undefined;
    expect(refused).toMatchObject({ _tag: "KnowledgeConfigError", reason: "embedder_mismatch" });
    expect(String(refused?.message)).toContain("made by use-static-512-v1");
    const hashing = await open("hashing");
    expect(Either.isLeft(hashing.result) ? hashing.result.left : undefined).toMatchObject({
      reason: "dimension_mismatch",
    });
    expect(Either.isLeft(knowledgeConfig({ embedder: "minilm" }, {}))).toBe(true);
  });
});
