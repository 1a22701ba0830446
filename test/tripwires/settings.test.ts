import { describe, expect, it } from "vitest";
import { tripwiresSection } from "../../plugins/tripwires/settings.ts";

describe("tripwires spec section", () => {
  const top = tripwiresSection.merge(
    undefined,
    { maxStepMs: 1000, maxTokens: { limit: 500, action: "warn" } },
    "$.root.tripwires",
  );
  const above = "value" in top ? top.value : undefined;

  it("resolves numbers and per-tripwire actions", () => {
    expect(top).toMatchObject({
      value: {
        limits: { maxStepMs: { limit: 1000, action: "halt" }, maxTokens: { limit: 500, action: "warn" } },
      },
    });
  });

  it("lets a subtree lower limits and harden actions", () => {
    const child = tripwiresSection.merge(
      above,
      { maxStepMs: 500, maxTokens: { limit: 500, action: "stop-tree" }, maxDepth: 2 },
      "$.c",
    );
    expect(child).toMatchObject({
      value: {
        limits: {
          maxStepMs: { limit: 500 },
          maxTokens: { limit: 500, action: "stop-tree" },
          maxDepth: { limit: 2, action: "halt" },
        },
      },
    });
  });

  it("refuses raising a limit or softening an action", () => {
    const child = tripwiresSection.merge(above, { maxStepMs: 5000, maxTokens: 100, action: "warn" }, "$.c");
    expect("problems" in child && child.problems.map((p) => p.message)).toEqual([
      "cannot raise maxStepMs from 1000 to 5000",
      'cannot soften the action of maxStepMs from "halt" to "warn"',
    ]);
  });

  it("reports unknown tripwires and bad values by path", () => {
    const problems = tripwiresSection.validate(
      { maxStpMs: 10, maxTokens: -1, action: "explode" },
      "$.root.tripwires",
    );
    expect(problems.map((p) => p.path).sort()).toEqual([
      "$.root.tripwires.action",
      "$.root.tripwires.maxStpMs",
      "$.root.tripwires.maxTokens",
    ]);
  });
});
