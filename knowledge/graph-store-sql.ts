/**
 * The SQL adapter of `GraphStore`: node, edge and fact tables on the `SqlClient` (PGlite or `pg`),
 * traversals as recursive CTEs. Every statement is parameterized.
 */
import { Effect, Layer } from "effect";
import type { KnowledgeConfigError, StoreError } from "./errors.ts";
import {
  DEFAULT_PARTITION,
  type Fact,
  type GraphEdge,
  type GraphNode,
  GraphStore,
  type GraphStoreService,
} from "./graph-store.ts";
import { refreshOnGrowth } from "./internal/statistics.ts";
import { migrate } from "./migrations.ts";
import { SqlClient, type SqlClientService } from "./sql-client.ts";

interface NodeRow {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly properties: Record<string, unknown>;
}
interface EdgeRow {
  readonly id: string;
  readonly src: string;
  readonly dst: string;
  readonly type: string;
  readonly properties: Record<string, unknown>;
  readonly valid_from: number;
  readonly valid_to: number | null;
}
interface FactRow {
  readonly entity: string;
  readonly attribute: string;
  readonly value: unknown;
  readonly valid_from: number;
  readonly valid_to: number | null;
  readonly expires_at: number | null;
}

const EDGE = "id::text AS id, src, dst, type, properties, valid_from, valid_to";
const NODE = "id, type, name, properties";
const validAt = (alias: string, param: string) =>
  `${alias}.valid_from <= ${param} AND (${alias}.valid_to IS NULL OR ${alias}.valid_to > ${param})`;
const typed = (alias: string, param: string) =>
  `(${param}::text[] IS NULL OR ${alias}.type = ANY(${param}::text[]))`;

const toNode = (r: NodeRow): GraphNode => ({
  id: r.id,
  type: r.type,
  name: r.name,
  properties: r.properties,
});
const toEdge = (r: EdgeRow): GraphEdge => ({
  id: r.id,
  from: r.src,
  to: r.dst,
  type: r.type,
  properties: r.properties,
  validFrom: Number(r.valid_from),
  validTo: r.valid_to === null ? null : Number(r.valid_to),
});
const toFact = (r: FactRow): Fact => ({
  entity: r.entity,
  attribute: r.attribute,
  value: r.value,
  validFrom: Number(r.valid_from),
  validTo: r.valid_to === null ? null : Number(r.valid_to),
  expiresAt: r.expires_at === null ? null : Number(r.expires_at),
});

/** Makes the SQL graph store on the current `SqlClient`, migrating the graph tables first. */
export const makeSqlGraphStore: Effect.Effect<
  GraphStoreService,
  StoreError | KnowledgeConfigError,
  SqlClient
> = Effect.gen(function* () {
  const sql = yield* SqlClient;
  yield* migrate({});
  const partitions = new Map<string, GraphStoreService>();
  const nodesGrew = refreshOnGrowth(sql, "ANALYZE arbor_nodes (tenant, type)");
  const partition = (tenant: string): GraphStoreService => {
    const known = partitions.get(tenant);
    if (known) return known;
    const made = partitionOf(sql, tenant, partition, nodesGrew);
    partitions.set(tenant, made);
    return made;
  };
  return partition(DEFAULT_PARTITION);
});

/** One tenant's partition: every statement names `tenant` (always the last parameter). */
const partitionOf = (
  sql: SqlClientService,
  tenant: string,
  partition: (tenant: string) => GraphStoreService,
  nodesGrew: (added: number) => Effect.Effect<void, StoreError>,
): GraphStoreService => {
  const edgesByIds = (ids: ReadonlyArray<string>) =>
    ids.length === 0
      ? Effect.succeed([] as ReadonlyArray<GraphEdge>)
      : Effect.map(
          sql.query<EdgeRow>(`SELECT ${EDGE} FROM arbor_edges WHERE id = ANY($1::bigint[]) AND tenant = $2`, [
            ids,
            tenant,
          ]),
          (rows) => rows.map(toEdge),
        );

  const getNodes: GraphStoreService["getNodes"] = (ids) =>
    ids.length === 0
      ? Effect.succeed([])
      : Effect.map(
          sql.query<NodeRow>(
            `SELECT ${NODE} FROM arbor_nodes WHERE id = ANY($1::text[]) AND tenant = $2 ORDER BY id`,
            [ids, tenant],
          ),
          (rows) => rows.map(toNode),
        );

  const service: GraphStoreService = {
    tenant,
    partition,
    upsertNodes: (nodes, time) =>
      nodes.length === 0
        ? Effect.void
        : Effect.zipRight(
            sql.query(
              `INSERT INTO arbor_nodes (tenant, id, type, name, properties, created_at, updated_at)
               SELECT DISTINCT ON (n.id) $6, n.id, n.type, n.name, n.properties::jsonb, $5, $5
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS n(id, type, name, properties)
               ON CONFLICT (tenant, id) DO UPDATE SET type = EXCLUDED.type, name = EXCLUDED.name,
                 properties = EXCLUDED.properties, updated_at = EXCLUDED.updated_at`,
              [
                nodes.map((n) => n.id),
                nodes.map((n) => n.type),
                nodes.map((n) => n.name),
                nodes.map((n) => JSON.stringify(n.properties)),
                time,
                tenant,
              ],
            ),
            nodesGrew(nodes.length),
          ),
    getNodes,
    findByName: (names) =>
      names.length === 0
        ? Effect.succeed([])
        : Effect.map(
            sql.query<NodeRow>(
              `SELECT ${NODE} FROM arbor_nodes WHERE lower(name) = ANY($1::text[]) AND tenant = $2 ORDER BY id`,
              [names.map((n) => n.toLowerCase()), tenant],
            ),
            (rows) => rows.map(toNode),
          ),
    namesUpTo: (limit, excludeTypes) =>
      Effect.map(
        sql.query<{ name: string }>(
          `SELECT DISTINCT lower(name) AS name FROM arbor_nodes
            WHERE tenant = $1 AND NOT (type = ANY($2::text[])) LIMIT $3`,
          [tenant, excludeTypes, Math.max(0, Math.floor(limit)) + 1],
        ),
        (rows) => (rows.length > limit ? undefined : rows.map((r) => r.name)),
      ),
    findByProperty: (type, key, value) =>
      Effect.map(
        sql.query<NodeRow>(
          `SELECT ${NODE} FROM arbor_nodes WHERE tenant = $4 AND type = $1 AND properties ->> $2 = $3 ORDER BY id`,
          [type, key, value, tenant],
        ),
        (rows) => rows.map(toNode),
      ),
    deleteNodes: (ids) =>
      ids.length === 0
        ? Effect.void
        : sql.transaction(
            Effect.gen(function* () {
              yield* sql.query(
                "DELETE FROM arbor_edges WHERE tenant = $2 AND (src = ANY($1::text[]) OR dst = ANY($1::text[]))",
                [ids, tenant],
              );
              yield* sql.query("DELETE FROM arbor_nodes WHERE id = ANY($1::text[]) AND tenant = $2", [
                ids,
                tenant,
              ]);
            }),
          ),
    relate: ({ from, to, type, properties, time, cardinality }) =>
      sql.transaction(
        Effect.gen(function* () {
          const closed =
            cardinality === "one"
              ? yield* sql.query(
                  `UPDATE arbor_edges SET valid_to = $4 WHERE tenant = $5 AND src = $1 AND type = $2 AND dst <> $3
                     AND valid_to IS NULL RETURNING id`,
                  [from, type, to, time, tenant],
                )
              : [];
          const props = JSON.stringify(properties);
          const same =
            cardinality === "event"
              ? []
              : yield* sql.query<EdgeRow>(
                  `UPDATE arbor_edges SET properties = properties || $4::jsonb
                    WHERE tenant = $5 AND src = $1 AND dst = $2 AND type = $3 AND valid_to IS NULL RETURNING ${EDGE}`,
                  [from, to, type, props, tenant],
                );
          const edge =
            same[0] ??
            (yield* sql.query<EdgeRow>(
              `INSERT INTO arbor_edges (tenant, src, dst, type, properties, valid_from)
               VALUES ($6, $1, $2, $3, $4::jsonb, $5) RETURNING ${EDGE}`,
              [from, to, type, props, time, tenant],
            ))[0]!;
          return { edge: toEdge(edge), closed: closed.length };
        }),
      ),
    updateEdge: (id, properties) =>
      Effect.asVoid(
        sql.query(
          "UPDATE arbor_edges SET properties = properties || $2::jsonb WHERE id = $1::bigint AND tenant = $3",
          [id, JSON.stringify(properties), tenant],
        ),
      ),
    neighbors: ({ id, depth, types, asOf }) =>
      Effect.gen(function* () {
        const typeParam = types && types.length > 0 ? types : null;
        const reached = yield* sql.query<{ node: string }>(
          `WITH RECURSIVE walk(node, depth) AS (
             SELECT $1::text, 0
             UNION
             SELECT n.next, w.depth + 1 FROM walk w
             CROSS JOIN LATERAL (
               SELECT e.dst AS next FROM arbor_edges e
                WHERE e.tenant = $5 AND e.src = w.node AND ${validAt("e", "$3")} AND ${typed("e", "$4")}
               UNION ALL
               SELECT e.src FROM arbor_edges e
                WHERE e.tenant = $5 AND e.dst = w.node AND ${validAt("e", "$3")} AND ${typed("e", "$4")}
             ) n
             WHERE w.depth < $2
           )
           SELECT DISTINCT node FROM walk`,
          [id, depth, asOf, typeParam, tenant],
        );
        const ids = reached.map((r) => r.node);
        const nodes = yield* getNodes(ids);
        const edges = yield* sql.query<EdgeRow>(
          `SELECT ${EDGE} FROM arbor_edges e WHERE e.tenant = $4 AND e.src = ANY($1::text[]) AND e.dst = ANY($1::text[])
             AND ${validAt("e", "$2")} AND ${typed("e", "$3")} ORDER BY e.valid_from, e.id`,
          [ids, asOf, typeParam, tenant],
        );
        return { nodes, edges: edges.map(toEdge) };
      }),
    paths: ({ from, to, maxDepth, limit, asOf }) =>
      Effect.gen(function* () {
        const rows = yield* sql.query<{ nodes: string[]; edges: string[] }>(
          `WITH RECURSIVE walk(node, depth, nodes, edges) AS (
             SELECT $1::text, 0, ARRAY[$1::text], ARRAY[]::bigint[]
             UNION ALL
             SELECT n.next, w.depth + 1, w.nodes || n.next, w.edges || n.eid FROM walk w
             CROSS JOIN LATERAL (
               SELECT e.dst AS next, e.id AS eid FROM arbor_edges e
                WHERE e.tenant = $6 AND e.src = w.node AND ${validAt("e", "$4")}
               UNION ALL
               SELECT e.src, e.id FROM arbor_edges e WHERE e.tenant = $6 AND e.dst = w.node AND ${validAt("e", "$4")}
             ) n
             WHERE w.depth < $3 AND w.node <> $2 AND NOT (n.next = ANY(w.nodes))
           )
           SELECT nodes, edges::text[] AS edges FROM walk WHERE node = $2 ORDER BY depth, nodes LIMIT $5`,
          [from, to, maxDepth, asOf, limit, tenant],
        );
        const edges = new Map(
          (yield* edgesByIds([...new Set(rows.flatMap((r) => r.edges))])).map((e) => [e.id, e]),
        );
        return rows.map((r) => ({ nodes: r.nodes, edges: r.edges.map((id) => edges.get(id)!) }));
      }),
    edgesOf: ({ ids, direction, types, asOf }) => {
      const side =
        direction === "out"
          ? "e.src = ANY($1::text[])"
          : direction === "in"
            ? "e.dst = ANY($1::text[])"
            : "(e.src = ANY($1::text[]) OR e.dst = ANY($1::text[]))";
      const when = asOf === undefined ? "" : `AND ${validAt("e", "$4")}`;
      return Effect.map(
        sql.query<EdgeRow>(
          `SELECT ${EDGE} FROM arbor_edges e WHERE e.tenant = $3 AND ${side} AND ${typed("e", "$2")} ${when}
            ORDER BY e.valid_from, e.id`,
          [ids, types && types.length > 0 ? types : null, tenant, ...(asOf === undefined ? [] : [asOf])],
        ),
        (rows) => rows.map(toEdge),
      );
    },
    connected: ({ id, types }) =>
      Effect.map(
        sql.query<EdgeRow>(
          `WITH RECURSIVE reach(node) AS (
             SELECT $1::text
             UNION
             SELECT n.next FROM reach r
             CROSS JOIN LATERAL (
               SELECT e.dst AS next FROM arbor_edges e WHERE e.tenant = $3 AND e.src = r.node AND e.type = ANY($2::text[])
               UNION ALL
               SELECT e.src FROM arbor_edges e WHERE e.tenant = $3 AND e.dst = r.node AND e.type = ANY($2::text[])
             ) n
           )
           SELECT ${EDGE} FROM arbor_edges e
            WHERE e.tenant = $3 AND e.type = ANY($2::text[]) AND e.src IN (SELECT node FROM reach)
            ORDER BY e.valid_from, e.id`,
          [id, types, tenant],
        ),
        (rows) => rows.map(toEdge),
      ),
    setFact: ({ entity, attribute, value, time, multi, expiresAt }) =>
      sql.transaction(
        Effect.gen(function* () {
          const json = JSON.stringify(value);
          const closed = multi
            ? []
            : yield* sql.query(
                `UPDATE arbor_facts SET valid_to = $4 WHERE tenant = $5 AND entity = $1 AND attribute = $2
                   AND valid_to IS NULL AND value <> $3::jsonb RETURNING id`,
                [entity, attribute, json, time, tenant],
              );
          const kept = yield* sql.query(
            `UPDATE arbor_facts SET expires_at = $5 WHERE tenant = $6 AND entity = $1 AND attribute = $2
               AND valid_to IS NULL AND value = $3::jsonb AND (expires_at IS NULL OR expires_at > $4) RETURNING id`,
            [entity, attribute, json, time, expiresAt, tenant],
          );
          if (kept.length === 0) {
            yield* sql.query(
              `INSERT INTO arbor_facts (tenant, entity, attribute, value, valid_from, expires_at)
               VALUES ($6, $1, $2, $3::jsonb, $4, $5)`,
              [entity, attribute, json, time, expiresAt, tenant],
            );
          }
          return { superseded: closed.length, written: kept.length === 0 };
        }),
      ),
    facts: ({ entity, attribute, asOf, history }) =>
      Effect.map(
        sql.query<FactRow>(
          `SELECT entity, attribute, value, valid_from, valid_to, expires_at FROM arbor_facts f
            WHERE tenant = $3 AND entity = $1 AND ($2::text IS NULL OR attribute = $2)
              ${history ? "" : `AND ${validAt("f", "$4")} AND (f.expires_at IS NULL OR f.expires_at > $4)`}
            ORDER BY attribute, valid_from, id`,
          history ? [entity, attribute ?? null, tenant] : [entity, attribute ?? null, tenant, asOf],
        ),
        (rows) => rows.map(toFact),
      ),
    forget: ({ entity, attribute, time }) =>
      Effect.map(
        sql.query(
          `UPDATE arbor_facts SET valid_to = $3 WHERE tenant = $4 AND entity = $1
             AND ($2::text IS NULL OR attribute = $2) AND valid_to IS NULL RETURNING id`,
          [entity, attribute ?? null, time, tenant],
        ),
        (rows) => rows.length,
      ),
  };
  return service;
};

/** The SQL graph store over whichever `SqlClient` is provided (PGlite or `pg`). */
export const layerSqlGraphStore: Layer.Layer<GraphStore, StoreError | KnowledgeConfigError, SqlClient> =
  Layer.effect(GraphStore, makeSqlGraphStore);
