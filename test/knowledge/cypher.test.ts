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

  // Linting is Neo4j's semantic analysis compiled to JavaScript: ~0.2 s of CPU a call, so every
  // statement goes through it once, in one multi-statement query, and each diagnostic is traced
  // back to its statement by offset. The union of all parameters is declared there; that each
  // statement declares exactly the parameters it uses is checked per statement below.
  const joined = statements.map((s) => s.text).join(";\n");
  const starts: Array<number> = [];
  let at = 0;
  for (const s of statements) {
    starts.push(at);
    at += s.text.length + 2;
  }
  const owner = (offset: number) => statements[starts.findLastIndex((start) => start <= offset)];
  const diagnostics = lintCypherQuery(joined, {
    parameters: Object.fromEntries(statements.flatMap((s) => s.params).map((p) => [p, "x"])),
  });

  it.each(statements.map((s) => [s.name, s] as const))(
    "%s parses with its parameters",
    (_name, statement) => {
      expect(
        diagnostics
          .filter((d) => owner(d.offsets.start) === statement)
          .map((d) => `${d.message} at ${joined.slice(d.offsets.start, d.offsets.end + 20)}`),
      ).toEqual([]);
      const used = new Set([...statement.text.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]));
      expect([...used].sort()).toEqual([...new Set(statement.params)].sort());
    },
  );

  it("traces a diagnostic in the joined query back to its statement", () => {
    const first = statements[0]?.text ?? "";
    const broken = lintCypherQuery(`${first};\nMATCH (n:ArborNode RETURN n`, {});
    expect(broken.length).toBeGreaterThan(0);
    expect(broken.every((d) => d.offsets.start > first.length)).toBe(true);
  });
});
