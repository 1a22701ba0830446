/**
 * The Neo4j adapter of `GraphStore`, through `neo4j-driver`: MERGE-based writes, parameterized
 * Cypher only (the catalogue in `neo4j/cypher.ts`), constraints and indexes created at start.
 *
 * Gotcha: properties are stored as canonical JSON text (Neo4j properties cannot hold maps), with
 * scalar ones also flattened as `p_<key>` so `findByProperty` can use them.
 */
import { Effect, Layer } from "effect";
import type { Driver, ManagedTransaction } from "neo4j-driver";
import { describe, StoreError } from "./errors.ts";
import {
  DEFAULT_PARTITION,
  type Fact,
  type GraphEdge,
  type GraphNode,
  GraphStore,
  type GraphStoreService,
} from "./graph-store.ts";
import { canonicalJson } from "./internal/json.ts";
import { cypher, pathsStatement, reachStatement, type Statement, schemaStatements } from "./neo4j/cypher.ts";

/** Where the Neo4j server is (`NEO4J_URI`, `NEO4J_USER`, `NEO4J_PASSWORD`). */
export interface Neo4jOptions {
  readonly uri: string;
  readonly user: string;
  readonly password: string;
  readonly database?: string;
}

type Record_ = Readonly<Record<string, unknown>>;

const parse = (text: unknown): Record<string, unknown> =>
  typeof text === "string" ? (JSON.parse(text) as Record<string, unknown>) : {};
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

const toNode = (r: Record_): GraphNode => ({
  id: String(r.id),
  type: String(r.type),
  name: String(r.name),
  properties: parse(r.props),
});
const toEdge = (r: Record_): GraphEdge => ({
  id: String(r.id),
  from: String(r.src),
  to: String(r.dst),
  type: String(r.type),
  properties: parse(r.props),
  validFrom: num(r.validFrom),
  validTo: numOrNull(r.validTo),
});
const toFact = (r: Record_): Fact => ({
  entity: String(r.entity),
  attribute: String(r.attribute),
  value: JSON.parse(String(r.value)) as unknown,
  validFrom: num(r.validFrom),
  validTo: numOrNull(r.validTo),
  expiresAt: numOrNull(r.expiresAt),
});

const nodeFields = (n: GraphNode): Record<string, unknown> => {
  const fields: Record<string, unknown> = {
    id: n.id,
    type: n.type,
    name: n.name,
    name_lower: n.name.toLowerCase(),
    props: canonicalJson(n.properties),
  };
  for (const [key, value] of Object.entries(n.properties)) {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      fields[`p_${key}`] = value;
    }
  }
  return fields;
};

/** Makes the Neo4j graph store: connects, checks the connection, creates constraints and indexes. */
export const makeNeo4jGraphStore = (options: Neo4jOptions) =>
  Effect.gen(function* () {
    const failed = (reason: "connection_failed" | "query_failed") => (cause: unknown) =>
      new StoreError({ reason, store: "neo4j", detail: describe(cause) });
    // Loaded here, not at the top: everyone on the embedded store would pay ~0.25 s of CPU at
    // every start for a driver they never use.
    const { default: neo4j } = yield* Effect.tryPromise({
      try: () => import("neo4j-driver"),
      catch: failed("connection_failed"),
    });
    const driver: Driver = yield* Effect.acquireRelease(
      Effect.try({
        try: () =>
          neo4j.driver(options.uri, neo4j.auth.basic(options.user, options.password), {
            disableLosslessIntegers: true,
          }),
        catch: failed("connection_failed"),
      }),
      (d) => Effect.promise(() => d.close()),
    );
    yield* Effect.tryPromise({ try: () => driver.verifyConnectivity(), catch: failed("connection_failed") });
    const sessionConfig = options.database ? { database: options.database } : {};

    /** Runs statements in one write (or read) transaction. */
    const inTx = <A>(mode: "read" | "write", work: (tx: ManagedTransaction) => Promise<A>) =>
      Effect.tryPromise({
        try: async () => {
          const session = driver.session(sessionConfig);
          try {
            return await (mode === "read" ? session.executeRead(work) : session.executeWrite(work));
          } finally {
            await session.close();
          }
        },
        catch: failed("query_failed"),
      });
    const runIn = async <P extends string>(
      tx: ManagedTransaction,
      statement: Statement<P>,
      params: Readonly<Record<string, unknown>>,
    ): Promise<ReadonlyArray<Record_>> =>
      (await tx.run(statement.text, params as Record<string, unknown>)).records.map(
        (r) => r.toObject() as Record_,
      );
    for (const s of schemaStatements) yield* inTx("write", (tx) => runIn(tx, s, {}));

    const partitions = new Map<string, GraphStoreService>();
    const partition = (tenant: string): GraphStoreService => {
      const known = partitions.get(tenant);
      if (known) return known;
      const made = scoped(tenant);
      partitions.set(tenant, made);
      return made;
    };

    /** One tenant's partition: every statement gets `$tenant`. */
    const scoped = (tenant: string): GraphStoreService => {
      const run = <P extends string>(
        tx: ManagedTransaction,
        statement: Statement<P>,
        params: Readonly<Record<Exclude<P, "tenant">, unknown>>,
      ) => runIn(tx, statement, { ...params, tenant });
      const read = <P extends string>(
        statement: Statement<P>,
        params: Readonly<Record<Exclude<P, "tenant">, unknown>>,
      ) => inTx("read", (tx) => run(tx, statement, params));
      const write = <P extends string>(
        statement: Statement<P>,
        params: Readonly<Record<Exclude<P, "tenant">, unknown>>,
      ) => inTx("write", (tx) => run(tx, statement, params));

      const nullIfEmpty = (types: ReadonlyArray<string> | undefined) =>
        types && types.length > 0 ? types : null;
      const getNodes: GraphStoreService["getNodes"] = (ids) =>
        ids.length === 0
          ? Effect.succeed([])
          : Effect.map(read(cypher.getNodes, { ids }), (rows) => rows.map(toNode));

      const edgesOf: GraphStoreService["edgesOf"] = ({ ids, direction, types, asOf }) => {
        const statement =
          direction === "out" ? cypher.edgesOut : direction === "in" ? cypher.edgesIn : cypher.edgesBoth;
        return Effect.map(read(statement, { ids, types: nullIfEmpty(types), asOf: asOf ?? null }), (rows) =>
          rows.map(toEdge),
        );
      };

      const service: GraphStoreService = {
        tenant,
        partition,
        upsertNodes: (nodes, time) =>
          nodes.length === 0
            ? Effect.void
            : Effect.asVoid(
                write(cypher.upsertNodes, {
                  nodes: nodes.map((n) => ({ id: n.id, fields: nodeFields(n) })),
                  time,
                }),
              ),
        getNodes,
        findByName: (names) =>
          names.length === 0
            ? Effect.succeed([])
            : Effect.map(read(cypher.findByName, { names: names.map((n) => n.toLowerCase()) }), (rows) =>
                rows.map(toNode),
              ),
        namesUpTo: (limit, excludeTypes) =>
          Effect.map(
            read(cypher.namesUpTo, {
              exclude: [...excludeTypes],
              limit: neo4j.int(Math.max(0, Math.floor(limit)) + 1),
            }),
            (rows) => (rows.length > limit ? undefined : rows.map((r) => String(r.name))),
          ),
        findByProperty: (type, key, value) =>
          Effect.map(read(cypher.findByProperty, { type, key, value }), (rows) => rows.map(toNode)),
        deleteNodes: (ids) =>
          ids.length === 0 ? Effect.void : Effect.asVoid(write(cypher.deleteNodes, { ids })),
        relate: ({ from, to, type, properties, time, cardinality }) =>
          inTx("write", async (tx) => {
            const closed =
              cardinality === "one"
                ? num((await run(tx, cypher.closeOthers, { from, type, to, time }))[0]?.closed ?? 0)
                : 0;
            const current =
              cardinality === "event"
                ? undefined
                : (await run(tx, cypher.findCurrent, { from, type, to }))[0];
            if (current) {
              const merged = { ...parse(current.props), ...properties };
              const updated = await run(tx, cypher.setEdgeProps, {
                id: current.id,
                props: canonicalJson(merged),
              });
              return { edge: toEdge(updated[0]!), closed };
            }
            const created = await run(tx, cypher.createEdge, {
              from,
              to,
              type,
              props: canonicalJson(properties),
              time,
            });
            return { edge: toEdge(created[0]!), closed };
          }),
        updateEdge: (id, properties) =>
          Effect.asVoid(
            inTx("write", async (tx) => {
              const current = (await run(tx, cypher.getEdge, { id }))[0];
              if (!current) return;
              const merged = { ...parse(current.props), ...properties };
              await run(tx, cypher.setEdgeProps, { id, props: canonicalJson(merged) });
            }),
          ),
        neighbors: ({ id, depth, types, asOf }) =>
          Effect.gen(function* () {
            const reached = yield* read(reachStatement(depth), { id, asOf, types: nullIfEmpty(types) });
            const row = reached[0];
            const ids = row ? [String(row.start), ...((row.ids as ReadonlyArray<string>) ?? [])] : [];
            const nodes = yield* getNodes([...new Set(ids)]);
            const edges = yield* read(cypher.edgesAmong, { ids, asOf, types: nullIfEmpty(types) });
            return { nodes, edges: edges.map(toEdge) };
          }),
        paths: ({ from, to, maxDepth, limit, asOf }) =>
          Effect.map(read(pathsStatement(maxDepth), { from, to, asOf, limit: neo4j.int(limit) }), (rows) =>
            rows.map((r) => ({
              nodes: (r.nodes as ReadonlyArray<string>).map(String),
              edges: (r.edges as ReadonlyArray<Record_>).map(toEdge),
            })),
          ),
        edgesOf,
        // Breadth-first over edges of `types`, all history: lineage families are small and shallow.
        connected: ({ id, types }) =>
          Effect.gen(function* () {
            const seen = new Set([id]);
            const edges = new Map<string, GraphEdge>();
            let frontier = [id];
            while (frontier.length > 0) {
              const found = yield* edgesOf({ ids: frontier, direction: "both", types });
              const next: string[] = [];
              for (const e of found) {
                edges.set(e.id, e);
                for (const n of [e.from, e.to]) {
                  if (!seen.has(n)) {
                    seen.add(n);
                    next.push(n);
                  }
                }
              }
              frontier = next;
            }
            return [...edges.values()].sort((a, b) => a.validFrom - b.validFrom);
          }),
        setFact: ({ entity, attribute, value, time, multi, expiresAt }) =>
          inTx("write", async (tx) => {
            const json = canonicalJson(value);
            const superseded = multi
              ? 0
              : num((await run(tx, cypher.closeFacts, { entity, attribute, value: json, time }))[0]?.n ?? 0);
            const kept = num(
              (await run(tx, cypher.keepFact, { entity, attribute, value: json, time, expiresAt }))[0]?.n ??
                0,
            );
            if (kept === 0)
              await run(tx, cypher.createFact, { entity, attribute, value: json, time, expiresAt });
            return { superseded, written: kept === 0 };
          }),
        facts: ({ entity, attribute, asOf, history }) =>
          Effect.map(read(cypher.facts, { entity, attribute: attribute ?? null, history, asOf }), (rows) =>
            rows.map(toFact),
          ),
        forget: ({ entity, attribute, time }) =>
          Effect.map(write(cypher.forget, { entity, attribute: attribute ?? null, time }), (rows) =>
            num(rows[0]?.n ?? 0),
          ),
      };
      return service;
    };
    return partition(DEFAULT_PARTITION);
  });

/** The Neo4j graph store as a layer; the driver is closed with the layer. */
export const layerNeo4jGraphStore = (options: Neo4jOptions): Layer.Layer<GraphStore, StoreError> =>
  Layer.scoped(GraphStore, makeNeo4jGraphStore(options));
