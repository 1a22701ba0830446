/**
 * Every Cypher statement the Neo4j graph adapter can issue, in one catalogue, so a test can check
 * each with Neo4j's own parser. All values travel as parameters; the only text that varies is a
 * traversal depth, which Cypher requires as a literal and which comes from a fixed range.
 *
 * Model: `(:ArborNode {tenant, id, type, name, name_lower, props, p_<key>…})` (props as JSON text,
 * scalar properties also flattened as `p_<key>` for lookups), `[:REL {type, props, valid_from,
 * valid_to}]`, `(:ArborFact {tenant, entity, attribute, value, valid_from, valid_to, expires_at})`
 * (value as JSON text). Every statement names `$tenant`: a node is keyed by (tenant, id), and a
 * relation only ever joins two nodes of one partition, so no match or walk leaves the partition.
 */
import { MAX_DEPTH } from "../graph-store.ts";

/** A statement and the parameters it takes. */
export interface Statement<P extends string = string> {
  readonly name: string;
  readonly text: string;
  readonly params: ReadonlyArray<P>;
}

const statement = <const P extends string>(
  name: string,
  text: string,
  params: ReadonlyArray<P>,
): Statement<P> => ({
  name,
  text: text.replace(/\s+/g, " ").trim(),
  params,
});

const VALID = (r: string) => `${r}.valid_from <= $asOf AND (${r}.valid_to IS NULL OR ${r}.valid_to > $asOf)`;
const EDGE = (r: string, a: string, b: string) =>
  `elementId(${r}) AS id, ${a}.id AS src, ${b}.id AS dst, ${r}.type AS type, ${r}.props AS props, ${r}.valid_from AS validFrom, ${r}.valid_to AS validTo`;
const NODE = "x.id AS id, x.type AS type, x.name AS name, x.props AS props";

/** Constraints and indexes, created (idempotently) when the adapter starts. */
export const schemaStatements: ReadonlyArray<Statement<never>> = [
  // Upgrade of a graph written before partitions: ids were unique alone; earlier data is the operator's.
  statement("constraint.drop_node_id", "DROP CONSTRAINT arbor_node_id IF EXISTS", []),
  statement("partition.nodes", "MATCH (n:ArborNode) WHERE n.tenant IS NULL SET n.tenant = ''", []),
  statement("partition.facts", "MATCH (f:ArborFact) WHERE f.tenant IS NULL SET f.tenant = ''", []),
  statement(
    "constraint.node_key",
    "CREATE CONSTRAINT arbor_node_key IF NOT EXISTS FOR (n:ArborNode) REQUIRE (n.tenant, n.id) IS UNIQUE",
    [],
  ),
  statement(
    "index.node_name",
    "CREATE INDEX arbor_node_name IF NOT EXISTS FOR (n:ArborNode) ON (n.tenant, n.name_lower)",
    [],
  ),
  statement(
    "index.node_type",
    "CREATE INDEX arbor_node_type IF NOT EXISTS FOR (n:ArborNode) ON (n.tenant, n.type)",
    [],
  ),
  statement(
    "index.fact_key",
    "CREATE INDEX arbor_fact_key IF NOT EXISTS FOR (f:ArborFact) ON (f.tenant, f.entity, f.attribute)",
    [],
  ),
  statement("index.rel_type", "CREATE INDEX arbor_rel_type IF NOT EXISTS FOR ()-[r:REL]-() ON (r.type)", []),
];

/** The statements with fixed text. */
export const cypher = {
  upsertNodes: statement(
    "upsertNodes",
    `UNWIND $nodes AS n
     MERGE (x:ArborNode {tenant: $tenant, id: n.id})
     WITH x, n, coalesce(x.created_at, $time) AS created
     SET x = n.fields
     SET x.tenant = $tenant, x.created_at = created, x.updated_at = $time`,
    ["nodes", "time", "tenant"],
  ),
  getNodes: statement(
    "getNodes",
    `MATCH (x:ArborNode {tenant: $tenant}) WHERE x.id IN $ids RETURN ${NODE} ORDER BY id`,
    ["ids", "tenant"],
  ),
  findByName: statement(
    "findByName",
    `MATCH (x:ArborNode {tenant: $tenant}) WHERE x.name_lower IN $names RETURN ${NODE} ORDER BY id`,
    ["names", "tenant"],
  ),
  namesUpTo: statement(
    "namesUpTo",
    `MATCH (x:ArborNode {tenant: $tenant}) WHERE NOT x.type IN $exclude
     RETURN DISTINCT x.name_lower AS name LIMIT $limit`,
    ["exclude", "limit", "tenant"],
  ),
  findByProperty: statement(
    "findByProperty",
    `MATCH (x:ArborNode {tenant: $tenant, type: $type}) WHERE x['p_' + $key] = $value RETURN ${NODE} ORDER BY id`,
    ["type", "key", "value", "tenant"],
  ),
  deleteNodes: statement(
    "deleteNodes",
    "MATCH (x:ArborNode {tenant: $tenant}) WHERE x.id IN $ids DETACH DELETE x",
    ["ids", "tenant"],
  ),
  closeOthers: statement(
    "closeOthers",
    `MATCH (a:ArborNode {tenant: $tenant, id: $from})-[r:REL {type: $type}]->(b:ArborNode {tenant: $tenant})
     WHERE r.valid_to IS NULL AND b.id <> $to
     SET r.valid_to = $time
     RETURN count(r) AS closed`,
    ["from", "type", "to", "time", "tenant"],
  ),
  findCurrent: statement(
    "findCurrent",
    `MATCH (a:ArborNode {tenant: $tenant, id: $from})-[r:REL {type: $type}]->(b:ArborNode {tenant: $tenant, id: $to})
     WHERE r.valid_to IS NULL
     RETURN ${EDGE("r", "a", "b")} ORDER BY validFrom LIMIT 1`,
    ["from", "type", "to", "tenant"],
  ),
  createEdge: statement(
    "createEdge",
    `MERGE (a:ArborNode {tenant: $tenant, id: $from}) ON CREATE SET a.type = 'thing', a.name = $from, a.name_lower = toLower($from), a.props = '{}'
     MERGE (b:ArborNode {tenant: $tenant, id: $to}) ON CREATE SET b.type = 'thing', b.name = $to, b.name_lower = toLower($to), b.props = '{}'
     CREATE (a)-[r:REL {type: $type, props: $props, valid_from: $time}]->(b)
     RETURN ${EDGE("r", "a", "b")}`,
    ["from", "to", "type", "props", "time", "tenant"],
  ),
  getEdge: statement(
    "getEdge",
    `MATCH (a:ArborNode {tenant: $tenant})-[r:REL]->(b:ArborNode) WHERE elementId(r) = $id
     RETURN ${EDGE("r", "a", "b")}`,
    ["id", "tenant"],
  ),
  setEdgeProps: statement(
    "setEdgeProps",
    `MATCH (a:ArborNode {tenant: $tenant})-[r:REL]->(b:ArborNode) WHERE elementId(r) = $id
     SET r.props = $props
     RETURN ${EDGE("r", "a", "b")}`,
    ["id", "props", "tenant"],
  ),
  edgesAmong: statement(
    "edgesAmong",
    `MATCH (a:ArborNode {tenant: $tenant})-[r:REL]->(b:ArborNode {tenant: $tenant})
     WHERE a.id IN $ids AND b.id IN $ids AND ${VALID("r")} AND ($types IS NULL OR r.type IN $types)
     RETURN ${EDGE("r", "a", "b")} ORDER BY validFrom, id`,
    ["ids", "asOf", "types", "tenant"],
  ),
  edgesOut: statement(
    "edgesOut",
    `MATCH (a:ArborNode {tenant: $tenant})-[r:REL]->(b:ArborNode {tenant: $tenant})
     WHERE a.id IN $ids AND ($types IS NULL OR r.type IN $types) AND ($asOf IS NULL OR (${VALID("r")}))
     RETURN ${EDGE("r", "a", "b")} ORDER BY validFrom, id`,
    ["ids", "types", "asOf", "tenant"],
  ),
  edgesIn: statement(
    "edgesIn",
    `MATCH (a:ArborNode {tenant: $tenant})-[r:REL]->(b:ArborNode {tenant: $tenant})
     WHERE b.id IN $ids AND ($types IS NULL OR r.type IN $types) AND ($asOf IS NULL OR (${VALID("r")}))
     RETURN ${EDGE("r", "a", "b")} ORDER BY validFrom, id`,
    ["ids", "types", "asOf", "tenant"],
  ),
  edgesBoth: statement(
    "edgesBoth",
    `MATCH (a:ArborNode {tenant: $tenant})-[r:REL]->(b:ArborNode {tenant: $tenant})
     WHERE (a.id IN $ids OR b.id IN $ids) AND ($types IS NULL OR r.type IN $types) AND ($asOf IS NULL OR (${VALID("r")}))
     RETURN ${EDGE("r", "a", "b")} ORDER BY validFrom, id`,
    ["ids", "types", "asOf", "tenant"],
  ),
  closeFacts: statement(
    "closeFacts",
    `MATCH (f:ArborFact {tenant: $tenant, entity: $entity, attribute: $attribute})
     WHERE f.valid_to IS NULL AND f.value <> $value
     SET f.valid_to = $time
     RETURN count(f) AS n`,
    ["entity", "attribute", "value", "time", "tenant"],
  ),
  keepFact: statement(
    "keepFact",
    `MATCH (f:ArborFact {tenant: $tenant, entity: $entity, attribute: $attribute})
     WHERE f.valid_to IS NULL AND f.value = $value AND (f.expires_at IS NULL OR f.expires_at > $time)
     SET f.expires_at = $expiresAt
     RETURN count(f) AS n`,
    ["entity", "attribute", "value", "time", "expiresAt", "tenant"],
  ),
  createFact: statement(
    "createFact",
    `CREATE (f:ArborFact {tenant: $tenant, entity: $entity, attribute: $attribute, value: $value, valid_from: $time, expires_at: $expiresAt})`,
    ["entity", "attribute", "value", "time", "expiresAt", "tenant"],
  ),
  facts: statement(
    "facts",
    `MATCH (f:ArborFact {tenant: $tenant, entity: $entity})
     WHERE ($attribute IS NULL OR f.attribute = $attribute)
       AND ($history OR (${VALID("f")} AND (f.expires_at IS NULL OR f.expires_at > $asOf)))
     RETURN f.entity AS entity, f.attribute AS attribute, f.value AS value, f.valid_from AS validFrom,
            f.valid_to AS validTo, f.expires_at AS expiresAt
     ORDER BY attribute, validFrom`,
    ["entity", "attribute", "history", "asOf", "tenant"],
  ),
  forget: statement(
    "forget",
    `MATCH (f:ArborFact {tenant: $tenant, entity: $entity})
     WHERE ($attribute IS NULL OR f.attribute = $attribute) AND f.valid_to IS NULL
     SET f.valid_to = $time
     RETURN count(f) AS n`,
    ["entity", "attribute", "time", "tenant"],
  ),
} as const;

const checkDepth = (depth: number): number => {
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH) {
    throw new RangeError(`depth must be an integer in 1..${MAX_DEPTH}, got ${depth}`);
  }
  return depth;
};

/** Node ids reachable within `depth` hops (either direction) over relations valid at `$asOf`. */
export const reachStatement = (depth: number) =>
  statement(
    `reach.${depth}`,
    `MATCH (s:ArborNode {tenant: $tenant, id: $id})
     OPTIONAL MATCH p = (s)-[:REL*1..${checkDepth(depth)}]-(x:ArborNode {tenant: $tenant})
     WHERE all(r IN relationships(p) WHERE ${VALID("r")} AND ($types IS NULL OR r.type IN $types))
       AND all(n IN nodes(p) WHERE n.tenant = $tenant)
     RETURN s.id AS start, collect(DISTINCT x.id) AS ids`,
    ["id", "asOf", "types", "tenant"],
  );

/** Shortest simple paths (either direction) between two nodes, at most `depth` hops. */
export const pathsStatement = (depth: number) =>
  statement(
    `paths.${depth}`,
    `MATCH p = (a:ArborNode {tenant: $tenant, id: $from})-[:REL*1..${checkDepth(depth)}]-(b:ArborNode {tenant: $tenant, id: $to})
     WHERE all(r IN relationships(p) WHERE ${VALID("r")})
       AND all(n IN nodes(p) WHERE n.tenant = $tenant)
       AND all(n IN nodes(p) WHERE single(m IN nodes(p) WHERE m = n))
     WITH p ORDER BY length(p), [n IN nodes(p) | n.id] LIMIT $limit
     RETURN [n IN nodes(p) | n.id] AS nodes,
            [r IN relationships(p) | {id: elementId(r), src: startNode(r).id, dst: endNode(r).id, type: r.type,
              props: r.props, validFrom: r.valid_from, validTo: r.valid_to}] AS edges`,
    ["from", "to", "asOf", "limit", "tenant"],
  );

/** Every statement the adapter can issue, for the parser check. */
export const allStatements = (): ReadonlyArray<Statement> => [
  ...schemaStatements,
  ...Object.values(cypher),
  ...Array.from({ length: MAX_DEPTH }, (_, i) => reachStatement(i + 1)),
  ...Array.from({ length: MAX_DEPTH }, (_, i) => pathsStatement(i + 1)),
];
