import { describe, expect, it } from "vitest";
import { ibanValid, luhnValid, type PiiKind, piiKinds, redactPii } from "../../plugins/guardrails/pii.ts";
import { piiCorpus } from "./pii-corpus.ts";

describe("PII detection", () => {
  it("reaches precision and recall of at least 0.95 on the labelled corpus", () => {
    const counts = new Map<PiiKind, { tp: number; fp: number; fn: number }>();
    for (const kind of piiKinds) counts.set(kind, { tp: 0, fp: 0, fn: 0 });
    for (const sample of piiCorpus) {
      const found = new Set(redactPii(sample.text).redactions.map((r) => r.kind));
      for (const kind of piiKinds) {
        const c = counts.get(kind)!;
        const expected = sample.kinds.includes(kind);
        if (expected && found.has(kind)) c.tp++;
        else if (found.has(kind)) c.fp++;
        else if (expected) c.fn++;
      }
    }
    const total = { tp: 0, fp: 0, fn: 0 };
    const rows = piiKinds.map((kind) => {
      const c = counts.get(kind)!;
      total.tp += c.tp;
      total.fp += c.fp;
      total.fn += c.fn;
      return { kind, precision: c.tp / (c.tp + c.fp || 1), recall: c.tp / (c.tp + c.fn || 1) };
    });
    const precision = total.tp / (total.tp + total.fp);
    const recall = total.tp / (total.tp + total.fn);
    console.log(`PII corpus: ${piiCorpus.length} samples`);
    console.table([...rows, { kind: "all", precision, recall }]);
    expect(precision).toBeGreaterThanOrEqual(0.95);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    for (const row of rows) expect(row.recall, row.kind).toBeGreaterThanOrEqual(0.8);
  });

  it("replaces every finding with a placeholder and counts it", () => {
    const { text, redactions } = redactPii("Mail a@b.io and c@d.org, card 4111 1111 1111 1111.");
    expect(text).toBe("Mail [EMAIL] and [EMAIL], card [CARD].");
    expect(redactions).toEqual([
      { kind: "email", count: 2 },
      { kind: "card", count: 1 },
    ]);
  });

  it("keeps allowed substrings", () => {
    const { text } = redactPii("write support@arbor.dev or me@home.net", undefined, [/support@arbor\.dev/]);
    expect(text).toBe("write support@arbor.dev or [EMAIL]");
  });

  it("checks card numbers with Luhn and IBANs with mod 97", () => {
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("4111111111111112")).toBe(false);
    expect(ibanValid("DE89 3704 0044 0532 0130 00")).toBe(true);
    expect(ibanValid("DE89 3704 0044 0532 0130 01")).toBe(false);
  });
});
