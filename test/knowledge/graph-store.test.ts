/** The `GraphStore` contract against the SQL adapter, on PGlite in process and on `pg` over the wire. */
import { Layer } from "effect";
import { describe } from "vitest";
import { layerSqlGraphStore } from "../../knowledge/graph-store-sql.ts";
import { graphStoreContract } from "./graph-store.contract.ts";
import { sqlAdapters } from "./support.ts";

describe.each(sqlAdapters)("SQL GraphStore over $name", ({ make }) => {
  graphStoreContract(async () => {
    const adapter = await make();
    return { layer: layerSqlGraphStore.pipe(Layer.provide(adapter.layer)), close: adapter.close };
  });
});
