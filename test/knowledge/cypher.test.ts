/**
 * Every Cypher statement the Neo4j adapter can issue is checked by Neo4j's own Cypher parser
 * (`@neo4j-cypher/language-support`): syntax, and that each parameter it uses is one the adapter
 * passes (and each one passed is used).
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { allStatements } from "../../knowledge/neo4j/cypher.ts";

interface Diagnostic {
  readonly message: string;
  readonly offsets: { readonly start: number; readonly end: number };
}
// The package's ESM build uses extensionless imports that Node refuses; its CommonJS build works.
// It is one 24 MB file beside a 41 MB source map, which Node reads and decodes at load time when
// source maps are on (vitest turns them on): ~12 s of CPU, against ~1 s to load the code alone.
const sourceMaps = process.sourceMapsEnabled;
process.setSourceMapsEnabled(false);
const { lintCypherQuery } = createRequire(import.meta.url)("@neo4j-cypher/language-support") as {
  lintCypherQuery: (
    query: string,
    schema: { parameters?: Record<string, unknown> },
  ) => ReadonlyArray<Diagnostic>;
};
process.setSourceMapsEnabled(sourceMaps);

describe("Neo4j adapter Cypher", () => {
  const statements = allStatements();

  it("covers every statement kind, including each traversal depth", () => {
    const names = statements.map((s) => s.name);
    expect(names).toContain("reach.1");
    expect(names).toContain("paths.5");
    expect(new Set(names).size).toBe(names.length);
  });

  it("rejects a malformed statement (the parser is really checking)", () => {
    const diagnostics = lintCypherQuery("MATCH (n:ArborNode {id: $id} RETURN n", { parameters: { id: "x" } });
    expect(diagnostics.length).toBeGreaterThan(0);
    const undeclared = lintCypherQuery("MATCH (n:ArborNode) WHERE n.id = $id RETURN n", { parameters: {} });
    expect(undeclared.map((d) => d.message)).toEqual(["Parameter $id is not defined."]);
  });

  // Linting is Neo4j's semantic analysis compiled to JavaScript: ~0.1–0.2 s of CPU a statement
  // (one query of all of them joined cost more: 11 s against 7.7 s for separate calls).
  it.each(statements.map((s) => [s.name, s] as const))(
    "%s parses with its parameters",
    (_name, statement) => {
      const diagnostics = lintCypherQuery(statement.text, {
        parameters: Object.fromEntries(statement.params.map((p) => [p, "x"])),
      });
      expect(
        diagnostics.map(
          (d) => `${d.message} at ${statement.text.slice(d.offsets.start, d.offsets.end + 20)}`,
        ),
      ).toEqual([]);
      const used = new Set([...statement.text.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]));
      expect([...used].sort()).toEqual([...new Set(statement.params)].sort());
    },
  );
});
