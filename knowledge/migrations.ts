/**
 * Versioned, idempotent schema migrations for the SQL stores (PGlite and Postgres alike).
 * Applied versions are recorded in `arbor_schema_migrations`; each runs once, in a transaction,
 * under an advisory lock so two processes starting together do not race.
 */
import { Clock, Effect } from "effect";
import { KnowledgeConfigError, type StoreError } from "./errors.ts";
import { SqlClient } from "./sql-client.ts";

/** One schema step. `sql` gets the settings that shape the schema (the embedding dimension). */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: (settings: { readonly dimension: number }) => string;
  /** The step shapes vectors: it waits until a caller that knows the embedding dimension migrates. */
  readonly needsDimension?: boolean;
}

/** The schema, in order. Append only: never edit a released step. */
export const migrations: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "graph",
    sql: () => `
      CREATE TABLE arbor_meta (key text PRIMARY KEY, value jsonb NOT NULL);
      CREATE TABLE arbor_nodes (
        id text PRIMARY KEY,
        type text NOT NULL,
        name text NOT NULL,
        properties jsonb NOT NULL DEFAULT '{}',
        created_at double precision NOT NULL,
        updated_at double precision NOT NULL
      );
      CREATE INDEX arbor_nodes_type ON arbor_nodes (type);
      CREATE INDEX arbor_nodes_name ON arbor_nodes (lower(name));
      CREATE TABLE arbor_edges (
        id bigserial PRIMARY KEY,
        src text NOT NULL,
        dst text NOT NULL,
        type text NOT NULL,
        properties jsonb NOT NULL DEFAULT '{}',
        valid_from double precision NOT NULL,
        valid_to double precision
      );
      CREATE INDEX arbor_edges_src ON arbor_edges (src, type);
      CREATE INDEX arbor_edges_dst ON arbor_edges (dst, type);
      CREATE TABLE arbor_facts (
        id bigserial PRIMARY KEY,
        entity text NOT NULL,
        attribute text NOT NULL,
        value jsonb NOT NULL,
        valid_from double precision NOT NULL,
        valid_to double precision,
        expires_at double precision
      );
      CREATE INDEX arbor_facts_entity ON arbor_facts (entity, attribute);
    `,
  },
  {
    version: 2,
    name: "documents and chunks",
    needsDimension: true,
    sql: ({ dimension }) => `
      INSERT INTO arbor_meta (key, value) VALUES ('embedding_dimension', '${dimension}'::jsonb);
      CREATE TABLE arbor_documents (
        id text PRIMARY KEY,
        hash text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}',
        chunks integer NOT NULL,
        updated_at double precision NOT NULL
      );
      CREATE TABLE arbor_chunks (
        id text PRIMARY KEY,
        document_id text NOT NULL,
        ord integer NOT NULL,
        text text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}',
        embedding vector(${dimension}) NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
      );
      CREATE INDEX arbor_chunks_document ON arbor_chunks (document_id);
      CREATE INDEX arbor_chunks_tsv ON arbor_chunks USING gin (tsv);
      CREATE INDEX arbor_chunks_metadata ON arbor_chunks USING gin (metadata jsonb_path_ops);
      CREATE INDEX arbor_chunks_embedding ON arbor_chunks USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
    `,
  },
  {
    version: 3,
    name: "usage ledger",
    sql: () => `
      CREATE TABLE arbor_usage (
        id bigserial PRIMARY KEY,
        time double precision NOT NULL,
        tree text NOT NULL,
        tenant text,
        address text NOT NULL,
        agent_id text NOT NULL,
        operation text NOT NULL,
        provider text NOT NULL,
        model text NOT NULL,
        key text,
        input_tokens integer NOT NULL,
        output_tokens integer NOT NULL,
        cost_usd double precision NOT NULL,
        latency_ms double precision NOT NULL,
        outcome text NOT NULL,
        reason text,
        cached boolean NOT NULL
      );
      CREATE INDEX arbor_usage_tree ON arbor_usage (tree, time);
      CREATE INDEX arbor_usage_tenant ON arbor_usage (tenant, time);
      CREATE INDEX arbor_usage_provider ON arbor_usage (provider, time);
    `,
  },
  {
    // Memory is partitioned per tenant: every row belongs to one partition ('' is the operator's),
    // which is part of every key and index. Existing rows land in the operator's partition.
    version: 4,
    name: "tenant partitions of the graph",
    sql: () => `
      ALTER TABLE arbor_nodes ADD COLUMN tenant text NOT NULL DEFAULT '';
      ALTER TABLE arbor_nodes DROP CONSTRAINT arbor_nodes_pkey;
      ALTER TABLE arbor_nodes ADD PRIMARY KEY (tenant, id);
      DROP INDEX arbor_nodes_type;
      DROP INDEX arbor_nodes_name;
      CREATE INDEX arbor_nodes_type ON arbor_nodes (tenant, type);
      CREATE INDEX arbor_nodes_name ON arbor_nodes (tenant, lower(name));
      ALTER TABLE arbor_edges ADD COLUMN tenant text NOT NULL DEFAULT '';
      DROP INDEX arbor_edges_src;
      DROP INDEX arbor_edges_dst;
      CREATE INDEX arbor_edges_src ON arbor_edges (tenant, src, type);
      CREATE INDEX arbor_edges_dst ON arbor_edges (tenant, dst, type);
      ALTER TABLE arbor_facts ADD COLUMN tenant text NOT NULL DEFAULT '';
      DROP INDEX arbor_facts_entity;
      CREATE INDEX arbor_facts_entity ON arbor_facts (tenant, entity, attribute);
    `,
  },
  {
    // The HNSW index stays one index over every partition: a search filters by tenant with
    // pgvector's iterative scan, which keeps walking the graph until k rows of the partition pass.
    version: 5,
    name: "tenant partitions of documents and chunks",
    needsDimension: true,
    sql: () => `
      ALTER TABLE arbor_documents ADD COLUMN tenant text NOT NULL DEFAULT '';
      ALTER TABLE arbor_documents DROP CONSTRAINT arbor_documents_pkey;
      ALTER TABLE arbor_documents ADD PRIMARY KEY (tenant, id);
      ALTER TABLE arbor_chunks ADD COLUMN tenant text NOT NULL DEFAULT '';
      ALTER TABLE arbor_chunks DROP CONSTRAINT arbor_chunks_pkey;
      ALTER TABLE arbor_chunks ADD PRIMARY KEY (tenant, id);
      DROP INDEX arbor_chunks_document;
      CREATE INDEX arbor_chunks_document ON arbor_chunks (tenant, document_id);
    `,
  },
  {
    // The providers' key pools: cooldowns, counters and the last minute's requests per key (by
    // fingerprint, never the secret), so a restart remembers a key that is cooling or at its limit.
    version: 6,
    name: "provider key state",
    sql: () => `
      CREATE TABLE arbor_provider_keys (
        provider text NOT NULL,
        fingerprint text NOT NULL,
        cooling_until double precision NOT NULL,
        streak integer NOT NULL,
        requests bigint NOT NULL,
        tokens bigint NOT NULL,
        failures bigint NOT NULL,
        cooldowns bigint NOT NULL,
        recent jsonb NOT NULL,
        PRIMARY KEY (provider, fingerprint)
      );
      `,
  },
  {
    // Document-level keyword search (BM25 over whole documents): each document's words, indexed.
    // Documents stored before this step get theirs from their chunks (overlaps repeat a little).
    // GIN indexes keep a pending list of new entries that only vacuum merges; PGlite runs no
    // autovacuum, so the list grew for ever and every search scanned it. The vector store now
    // merges it after each write (gin_clean_pending_list); this step merges what is there.
    version: 7,
    name: "document full text",
    needsDimension: true,
    sql: () => `
      ALTER TABLE arbor_documents ADD COLUMN tsv tsvector;
      UPDATE arbor_documents d SET tsv = (
        SELECT to_tsvector('english', left(string_agg(c.text, ' ' ORDER BY c.ord), 400000))
          FROM arbor_chunks c WHERE c.tenant = d.tenant AND c.document_id = d.id);
      CREATE INDEX arbor_documents_tsv ON arbor_documents USING gin (tsv);
      SELECT gin_clean_pending_list('arbor_chunks_tsv'::regclass);
      SELECT gin_clean_pending_list('arbor_chunks_metadata'::regclass);
    `,
  },
  {
    // Durable trees (runtime/durable): the spec of each kept tree, each agent's state as data (with
    // the journal of its task in flight), and replies kept by idempotency key. No foreign keys: a
    // step's write is one statement, and deleting a tree deletes its rows in one transaction.
    version: 8,
    name: "durable trees",
    sql: () => `
      CREATE TABLE arbor_durable_trees (
        tree_id text PRIMARY KEY,
        tenant text,
        spec jsonb NOT NULL,
        created_at double precision NOT NULL,
        resumed_at double precision
      );
      CREATE TABLE arbor_durable_agents (
        tree_id text NOT NULL,
        address text NOT NULL,
        state jsonb NOT NULL,
        PRIMARY KEY (tree_id, address)
      );
      CREATE TABLE arbor_durable_answers (
        tree_id text NOT NULL,
        address text NOT NULL,
        key text NOT NULL,
        reply jsonb NOT NULL,
        at double precision NOT NULL,
        PRIMARY KEY (tree_id, address, key)
      );
    `,
  },
  {
    // Entities by meaning (memory.similarEntities): one vector per entity, made from its name and
    // type by the store's embedder, beside the chunks (the graph may live in Neo4j).
    version: 9,
    name: "entity vectors",
    needsDimension: true,
    sql: ({ dimension }) => `
      CREATE TABLE arbor_entity_vectors (
        tenant text NOT NULL,
        id text NOT NULL,
        type text NOT NULL,
        name text NOT NULL,
        embedding vector(${dimension}) NOT NULL,
        PRIMARY KEY (tenant, id)
      );
      CREATE INDEX arbor_entity_vectors_type ON arbor_entity_vectors (tenant, type);
    `,
  },
  {
    // Chunks' full-text vectors are made by the store (words split in JavaScript, each distinct word
    // stemmed once: internal/lexemes.ts) instead of parsed row by row in the database.
    version: 10,
    name: "chunk lexemes written by the store",
    needsDimension: true,
    sql: () => "ALTER TABLE arbor_chunks ALTER COLUMN tsv DROP EXPRESSION",
  },
  {
    // Document frequencies of lexemes for BM25's idf (internal/term-stats.ts), counted once here
    // from the rows already stored.
    version: 11,
    name: "term statistics",
    needsDimension: true,
    sql: () => `
      CREATE TABLE arbor_terms (
        tenant text NOT NULL,
        scope text NOT NULL,
        lexeme text NOT NULL,
        df integer NOT NULL,
        PRIMARY KEY (tenant, scope, lexeme)
      );
      INSERT INTO arbor_terms (tenant, scope, lexeme, df)
        SELECT tenant, 'chunks', lexeme, count(*) FROM arbor_chunks, unnest(tsvector_to_array(tsv)) AS lexeme
         WHERE tsv IS NOT NULL AND octet_length(lexeme) < 2000 GROUP BY tenant, lexeme;
      INSERT INTO arbor_terms (tenant, scope, lexeme, df)
        SELECT tenant, 'documents', lexeme, count(*) FROM arbor_documents, unnest(tsvector_to_array(tsv)) AS lexeme
         WHERE tsv IS NOT NULL AND octet_length(lexeme) < 2000 GROUP BY tenant, lexeme;
    `,
  },
  {
    // Each row's number of distinct lexemes (BM25's length), kept beside its tsvector: reading it
    // from `length(tsv)` unpacked the whole (compressed) vector of every scored row once more.
    version: 12,
    name: "lexeme counts",
    needsDimension: true,
    sql: () => `
      ALTER TABLE arbor_chunks ADD COLUMN lexemes integer;
      UPDATE arbor_chunks SET lexemes = length(tsv) WHERE tsv IS NOT NULL;
      ALTER TABLE arbor_documents ADD COLUMN lexemes integer;
      UPDATE arbor_documents SET lexemes = length(tsv) WHERE tsv IS NOT NULL;
    `,
  },
  {
    // Documents' BM25 term frequencies and lead grades, one number per lexeme (\`termWeights\` in
    // internal/bm25.ts: 32 · tf + the lead bonus in 31 steps over \`LEAD.window\`, 300 words):
    // scoring a document unpacked its whole \`tsvector\`, every position of every word.
    version: 13,
    name: "document term weights",
    needsDimension: true,
    sql: () => String.raw`
      ALTER TABLE arbor_documents ADD COLUMN weights tsvector;
      UPDATE arbor_documents d SET weights = (
        SELECT coalesce(string_agg(
                 '''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''':'
                   || (32 * least(coalesce(array_length(positions, 1), 1), 256)
                       + round(31 * greatest(0, 1 - (coalesce(positions[1], 1) - 1) / 300.0))::int), ' '), '')::tsvector
          FROM unnest(d.tsv))
       WHERE tsv IS NOT NULL;
    `,
  },
  {
    // A chunk row (text, tsvector, a 384-number vector: about 3.5 kB) stays whole in its page instead
    // of having its text and tsvector compressed and its vector moved to the TOAST table: a load
    // writes each row once, and reading a passage's text or scoring its tsvector decompresses nothing.
    version: 14,
    name: "chunk rows kept whole",
    needsDimension: true,
    sql: () => "ALTER TABLE arbor_chunks SET (toast_tuple_target = 8160)",
  },
  {
    // Term statistics are updated far more than inserted (each load counts its words in): room left
    // in each page lets an update stay in its page (HOT: no new index entry, and old versions are
    // reclaimed without VACUUM, which PGlite never runs).
    version: 15,
    name: "term statistics updated in place",
    needsDimension: true,
    sql: () => "ALTER TABLE arbor_terms SET (fillfactor = 60)",
  },
  {
    // Document-level keyword search reads each candidate document's compact weights (a few kB): kept
    // in the row rather than in the TOAST table, a search reads ~14% faster (man pages: 4.4 against
    // 5.2 ms a search). Documents stored before keep theirs where they are until written again:
    // rewriting every row here would leave a dead copy of each, which PGlite never vacuums, and
    // searches would read both (twice as slow, measured).
    version: 16,
    name: "document weights kept in the row",
    needsDimension: true,
    sql: () => `
      ALTER TABLE arbor_documents SET (toast_tuple_target = 8160);
      ALTER TABLE arbor_documents ALTER COLUMN weights SET STORAGE MAIN;
    `,
  },
];

const LOCK_KEY = 7_261_626_3;

/**
 * Applies every migration not yet applied. Safe to run at every start and from several processes.
 * Without a `dimension`, steps that need one wait (the graph store's case); the others apply.
 * Fails with `dimension_mismatch` when the database was created for another embedding dimension.
 */
export const migrate = (settings: {
  readonly dimension?: number;
}): Effect.Effect<void, StoreError | KnowledgeConfigError, SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient;
    yield* sql.transaction(
      Effect.gen(function* () {
        yield* sql.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
        yield* sql.exec(
          "CREATE TABLE IF NOT EXISTS arbor_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at double precision NOT NULL)",
        );
        const applied = new Set(
          (yield* sql.query<{ version: number }>("SELECT version FROM arbor_schema_migrations")).map(
            (r) => r.version,
          ),
        );
        for (const step of migrations) {
          if (applied.has(step.version)) continue;
          if (step.needsDimension && settings.dimension === undefined) continue; // waits for the vector store
          yield* sql.exec(step.sql({ dimension: settings.dimension ?? 0 }));
          const now = yield* Clock.currentTimeMillis;
          yield* sql.query(
            "INSERT INTO arbor_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            [step.version, step.name, now],
          );
        }
      }),
    );
    if (settings.dimension === undefined) return;
    const stored = yield* sql.query<{ value: unknown }>(
      "SELECT value FROM arbor_meta WHERE key = 'embedding_dimension'",
    );
    const dimension = stored[0]?.value;
    if (dimension !== settings.dimension) {
      return yield* new KnowledgeConfigError({
        reason: "dimension_mismatch",
        detail: `the database holds ${String(dimension)}-dimensional embeddings but the embedder makes ${settings.dimension}; use another data dir / database or the same embedder`,
      });
    }
  });
