/**
 * The `GraphStore` contract against a live Neo4j. No Neo4j runs on the CI machine, so this suite
 * runs only when `NEO4J_URI` is set (with `NEO4J_USER` / `NEO4J_PASSWORD`); the Cypher itself is
 * checked by a real parser in every run (cypher.test.ts).
 */
import { describe } from "vitest";
import { layerNeo4jGraphStore } from "../../knowledge/graph-store-neo4j.ts";
import { graphStoreContract } from "./graph-store.contract.ts";

const uri = process.env.NEO4J_URI;

describe.runIf(uri)("Neo4j GraphStore (live, NEO4J_URI)", () => {
  graphStoreContract(async () => ({
    layer: layerNeo4jGraphStore({
      uri: uri!,
      user: process.env.NEO4J_USER ?? "neo4j",
      password: process.env.NEO4J_PASSWORD ?? "",
    }),
    close: async () => {},
  }));
});
