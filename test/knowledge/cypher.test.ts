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
const { lintCypherQuery } = createRequire(import.meta.url)("@neo4j-cypher/language-support") as {
  lintCypherQuery: (
    query: string,
    schema: { parameters?: Record<string, unknown> },
  ) => ReadonlyArray<Diagnostic>;
};

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

  it.each(statements.map((s) => [s.name, s] as const))(
    "%s parses with its parameters",
    (_name, statement) => {
      const parameters = Object.fromEntries(statement.params.map((p) => [p, "x"]));
      const diagnostics = lintCypherQuery(statement.text, { parameters });
      expect(
        diagnostics.map(
          (d) => `${d.message} at ${statement.text.slice(d.offsets.start, d.offsets.end + 20)}`,
        ),
      ).toEqual([]);
      for (const param of statement.params) expect(statement.text).toMatch(new RegExp(`\\$${param}\\b`));
    },
  );
});
