/**
 * Entity vectors in SQL (`arbor_entity_vectors`, migration 9): one vector per entity of a
 * partition, searched exactly (a sequential scan of the partition, or of one type), which stays
 * fast for the tens of thousands of entities a memory graph holds.
 */
import { Effect } from "effect";
import type { StoreError } from "../errors.ts";
import type { SqlClientService } from "../sql-client.ts";

/** An entity to index by meaning. */
export interface EntityVector {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly embedding: ReadonlyArray<number>;
}

/** An entity found by meaning: `score` is the cosine similarity to the query. */
export interface EntityHit {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly score: number;
}

const vectorText = (v: ReadonlyArray<number>): string => `[${v.join(",")}]`;

/** Inserts or replaces entity vectors of `tenant`. */
export const upsertEntityVectors = (
  sql: SqlClientService,
  tenant: string,
  entities: ReadonlyArray<EntityVector>,
): Effect.Effect<void, StoreError> =>
  Effect.forEach(
    entities,
    (e) =>
      sql.query(
        `INSERT INTO arbor_entity_vectors (tenant, id, type, name, embedding) VALUES ($1, $2, $3, $4, $5::vector)
         ON CONFLICT (tenant, id) DO UPDATE SET type = EXCLUDED.type, name = EXCLUDED.name, embedding = EXCLUDED.embedding`,
        [tenant, e.id, e.type, e.name, vectorText(e.embedding)],
      ),
    { discard: true },
  );

/** The `k` entities of `tenant` nearest `vector` (of `types` when given), nearest first. */
export const searchEntityVectors = (
  sql: SqlClientService,
  tenant: string,
  query: {
    readonly vector: ReadonlyArray<number>;
    readonly k: number;
    readonly types?: ReadonlyArray<string>;
    readonly exclude?: ReadonlyArray<string>;
  },
): Effect.Effect<ReadonlyArray<EntityHit>, StoreError> =>
  Effect.map(
    sql.query<{ id: string; type: string; name: string; score: number }>(
      `SELECT id, type, name, 1 - (embedding <=> $1::vector) AS score FROM arbor_entity_vectors
       WHERE tenant = $2 AND ($3::text[] IS NULL OR type = ANY($3::text[])) AND NOT (id = ANY($4::text[]))
       ORDER BY embedding <=> $1::vector, id LIMIT $5`,
      [
        vectorText(query.vector),
        tenant,
        query.types && query.types.length > 0 ? query.types : null,
        query.exclude ?? [],
        Math.max(1, Math.floor(query.k)),
      ],
    ),
    (rows) => rows.map((r) => ({ id: r.id, type: r.type, name: r.name, score: Number(r.score) })),
  );

/** Removes entity vectors of `tenant`. */
export const deleteEntityVectors = (
  sql: SqlClientService,
  tenant: string,
  ids: ReadonlyArray<string>,
): Effect.Effect<void, StoreError> =>
  ids.length === 0
    ? Effect.void
    : Effect.asVoid(
        sql.query("DELETE FROM arbor_entity_vectors WHERE tenant = $1 AND id = ANY($2::text[])", [
          tenant,
          [...ids],
        ]),
      );
