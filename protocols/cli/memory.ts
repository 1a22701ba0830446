/**
 * `arbor memory ingest <folder|file.jsonl>` — a bulk load into memory, in batches that each fit one
 * frame, with a progress line and a summary; into the embedded store (the config's `knowledge`
 * section) or, with `--connect`, into a running server. `arbor memory search <query>` searches it;
 * `arbor memory ask <question>` answers from it through a model, with citations.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { Effect, Exit, Scope } from "effect";
import { type AnswerParams, type AnswerResult, answerQuestion } from "../../knowledge/answer.ts";
import {
  BulkSourceError,
  countDocuments,
  framedBatches,
  readDocuments,
  splitText,
} from "../../knowledge/bulk.ts";
import type { KnowledgeGraphService } from "../../knowledge/knowledge-graph.ts";
import type { IngestParams, IngestResult, SearchResult } from "../../knowledge/wire.ts";
import { type ArborRuntime, makeAgentSystem } from "../../runtime/agent-system.ts";
import { loadConfig } from "../../runtime/config.ts";
import { ArborClient } from "../client/client.ts";
import { lateModelRouter, openMemory } from "../memory.ts";
import { defaultPlugins } from "../preset.ts";
import { type Command, ExitCode } from "./command.ts";
import { describeFlagError } from "./flags.ts";
import { defaultUrl, describeClientError } from "./inspect.ts";

const usage = `Usage: arbor memory ingest <folder|file.jsonl> [options]
       arbor memory search <query> [options]
       arbor memory ask <question> [options]

ingest: loads every .md, .markdown, .txt, .rst and .adoc file under a folder (id: its relative
path), or each line {"documentId", "text", "metadata"?} of a .jsonl file, in batches that fit one
frame; a document bigger than a frame goes in parts. Unchanged documents are skipped.
ask: retrieves the facts and passages that bear on the question and has a model answer from them,
citing them as [1] and [F1] (the model: --provider/--model/--profile, else the config's
knowledge.answer, else the balanced profile).

Options:
  --connect <url>    load into a running server (default: the embedded store of the config)
  --token <token>    bearer token for --connect (default: $ARBOR_TOKEN)
  --config <file>    configuration file (default: ./arbor.config.json if present)
  --frame-bytes <n>  largest frame to send (default 1000000; the server's limit is 1 MiB)
  --mode <mode>      search: hybrid (default), keyword or vector
  --k <n>            search: how many results (default 5)
  --group <group>    search: passage (default) or document
  --provider <name>  ask: the model's provider (e.g. openai, ollama)
  --model <name>     ask: the model
  --profile <name>   ask: a routing profile instead (cheap, balanced, quality)
  --json             print the summary (or results) as JSON

Examples:
  arbor memory ingest ./docs
  arbor memory ingest corpus.jsonl --connect ws://127.0.0.1:7420/rpc
  arbor memory search "how do I rotate keys" --group document
  arbor memory ask "how do I rotate keys?" --provider ollama --model llama3.2`;

const options = {
  connect: { type: "string" },
  token: { type: "string" },
  config: { type: "string" },
  "frame-bytes": { type: "string" },
  mode: { type: "string" },
  k: { type: "string" },
  group: { type: "string" },
  provider: { type: "string" },
  model: { type: "string" },
  profile: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

/** Where documents go: the embedded memory service or a server. */
interface Sink {
  readonly ingestMany: (documents: ReadonlyArray<IngestParams>) => Promise<ReadonlyArray<IngestResult>>;
  readonly ingestLarge: (document: IngestParams, partBytes: number) => Promise<IngestResult>;
  readonly search: (params: Record<string, unknown>) => Promise<SearchResult>;
  readonly answer: (params: Record<string, unknown>) => Promise<AnswerResult>;
  readonly close: () => Promise<void>;
}

const remoteSink = async (url: string, token: string | undefined): Promise<Sink> => {
  const client = await ArborClient.connect(url, token ? { token } : {});
  return {
    ingestMany: async (documents) =>
      ((await client.request("memory.ingestMany", { documents })) as { results: IngestResult[] }).results,
    ingestLarge: async (document, partBytes) => {
      const parts = splitText(document.text, partBytes);
      const uploadId = randomUUID();
      let last: unknown;
      for (const [index, text] of parts.entries()) {
        last = await client.request("memory.ingestPart", {
          uploadId,
          documentId: document.documentId,
          index,
          count: parts.length,
          text,
          ...(document.metadata && index === 0 ? { metadata: document.metadata } : {}),
        });
      }
      return (last as { result: IngestResult }).result;
    },
    search: async (params) => (await client.request("memory.search", params)) as SearchResult,
    answer: async (params) => (await client.request("memory.answer", params)) as AnswerResult,
    close: async () => client.close(),
  };
};

const localSink = async (
  configFile: string | undefined,
): Promise<Sink & { readonly description: string }> => {
  const scope = Effect.runSync(Scope.make());
  const { opened, system } = await Effect.runPromise(
    Effect.gen(function* () {
      const { config } = yield* loadConfig(configFile);
      // Memory opens before the runtime, whose router (providers, key pools) it embeds and answers through.
      let system: ArborRuntime | undefined;
      const opened = yield* openMemory(
        config.knowledge,
        lateModelRouter(() => system?.models()),
      );
      system = yield* makeAgentSystem({
        plugins: defaultPlugins(config, {
          ...(configFile !== undefined ? { configFile } : {}),
          ledger: opened.ledger,
          keyStore: opened.keyStore,
        }),
        config,
      });
      return { opened, system };
    }).pipe(Scope.extend(scope)),
  );
  const kg: KnowledgeGraphService = opened.knowledge;
  const run = <A>(e: Effect.Effect<A, unknown>) => Effect.runPromise(e);
  return {
    description: opened.description,
    ingestMany: async (documents) => (await run(kg.ingestMany({ documents }))).results,
    ingestLarge: (document) => run(kg.ingest(document)),
    search: (params) => run(kg.search(params as Parameters<KnowledgeGraphService["search"]>[0])),
    answer: (params) =>
      run(
        answerQuestion(
          kg,
          {
            router: system.models(),
            guardrails: system.guardrails(),
            ...(opened.answerModel ? { model: opened.answerModel } : {}),
          },
          params as AnswerParams,
        ),
      ),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void)),
  };
};

/** The answer, then what each label cites. */
const describeAnswer = (result: AnswerResult): string => {
  const lines = [result.answer.trim(), ""];
  for (const f of result.facts)
    lines.push(`[${f.label}] ${f.entity} · ${f.attribute} = ${JSON.stringify(f.value)}`);
  for (const c of result.citations) lines.push(`[${c.n}] ${c.documentId} (${c.chunkId})`);
  if (result.facts.length + result.citations.length === 0)
    lines.push("(nothing in memory bore on the question)");
  lines.push(`— ${result.provider}/${result.model}`);
  return `${lines.join("\n")}\n`;
};

/** A progress bar: share of the documents done, counts, rate, and the time left at that rate. */
const progressLine = (done: number, total: number, chunks: number, skipped: number, started: number) => {
  const seconds = (Date.now() - started) / 1000;
  const share = total > 0 ? Math.min(1, done / total) : 0;
  const width = 24;
  const filled = Math.round(share * width);
  const left = done > 0 && done < total ? ` ~${Math.ceil((seconds / done) * (total - done))} s left` : "";
  return `\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Math.round(share * 100)}% ${done}/${total} documents, ${chunks} chunks (${skipped} unchanged), ${Math.round(chunks / Math.max(seconds, 0.001))} chunks/s${left}   `;
};

const ingest = async (source: string, sink: Sink, frameBytes: number, json: boolean): Promise<number> => {
  const started = Date.now();
  let documents = 0;
  let chunks = 0;
  let skipped = 0;
  const tty = process.stderr.isTTY && !json;
  const total = tty ? await countDocuments(source) : 0;
  const count = (results: ReadonlyArray<IngestResult>) => {
    for (const r of results) {
      documents += 1;
      if (r.changed) chunks += r.chunks;
      else skipped += 1;
    }
    if (tty) process.stderr.write(progressLine(documents, total, chunks, skipped, started));
  };
  // The next frame is read and cut while this one is ingested (a tenth of a load's time when done
  // in turn). A source error found ahead surfaces when its frame's turn comes, as before.
  const units = framedBatches(readDocuments(source), { maxBytes: frameBytes })[Symbol.asyncIterator]();
  const ahead = () => {
    const step = units.next();
    step.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    return step;
  };
  for (let next = ahead(); ; ) {
    const step = await next;
    if (step.done) break;
    next = ahead();
    const unit = step.value;
    if (unit.kind === "batch") count(await sink.ingestMany(unit.documents));
    else count([await sink.ingestLarge(unit.document, Math.floor(frameBytes / 2))]);
  }
  // A large load leaves the vector index to the next vector search: one is made here, so the load
  // ends with its index built (and counted in its time) instead of the first search paying for it.
  // The summary says how long each took: the load's rate is the figure to compare between runs.
  const loadSeconds = (Date.now() - started) / 1000;
  if (chunks > 0) {
    if (tty) process.stderr.write("\nbuilding the vector index…");
    await sink.search({ query: "index", mode: "vector", k: 1 });
  }
  const seconds = (Date.now() - started) / 1000;
  const indexSeconds = seconds - loadSeconds;
  const chunksPerSecond = Math.round(chunks / Math.max(loadSeconds, 0.001));
  const summary = {
    documents,
    changed: documents - skipped,
    unchanged: skipped,
    chunks,
    seconds,
    loadSeconds,
    chunksPerSecond,
    indexSeconds,
  };
  if (tty) process.stderr.write("\n");
  process.stdout.write(
    json
      ? `${JSON.stringify(summary)}\n`
      : `ingested ${documents} documents from ${source}: ${documents - skipped} new or changed (${chunks} chunks), ${skipped} unchanged, in ${seconds.toFixed(1)} s` +
          (chunks > 0
            ? ` (loaded in ${loadSeconds.toFixed(1)} s, ${chunksPerSecond} chunks/s; vector index ready ${indexSeconds.toFixed(1)} s later)\n`
            : "\n"),
  );
  return ExitCode.ok;
};

/** `arbor memory`. */
export const memoryCommand: Command = {
  name: "memory",
  summary: "load documents into memory and search it",
  usage,
  run: async (argv) => {
    let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
    try {
      parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    } catch (error) {
      process.stderr.write(`arbor memory: ${describeFlagError(error, options)}\n`);
      return ExitCode.usage;
    }
    const { values, positionals } = parsed;
    const [action, ...rest] = positionals;
    if ((action !== "ingest" && action !== "search" && action !== "ask") || rest.length === 0) {
      process.stderr.write(`${usage}\n`);
      return ExitCode.usage;
    }
    const frameBytes = Number(values["frame-bytes"] ?? 1_000_000);
    if (!Number.isInteger(frameBytes) || frameBytes < 4096) {
      process.stderr.write("arbor memory: --frame-bytes must be a whole number of at least 4096\n");
      return ExitCode.usage;
    }
    if (action === "ingest" && !existsSync(rest[0]!)) {
      process.stderr.write(`arbor memory: ${rest[0]} does not exist\n`);
      return ExitCode.usage;
    }
    let sink: Sink;
    try {
      if (values.connect !== undefined) {
        sink = await remoteSink(values.connect || defaultUrl(), values.token ?? process.env.ARBOR_TOKEN);
      } else {
        const local = await localSink(values.config);
        if (!values.json) process.stderr.write(`arbor: ${local.description}\n`);
        sink = local;
      }
    } catch (error) {
      process.stderr.write(`arbor memory: ${describeClientError(error)}\n`);
      return ExitCode.failed;
    }
    try {
      if (action === "ingest") return await ingest(rest[0]!, sink, frameBytes, values.json);
      if (action === "ask") {
        const model = {
          ...(values.provider ? { provider: values.provider } : {}),
          ...(values.model ? { model: values.model } : {}),
          ...(values.profile ? { profile: values.profile } : {}),
        };
        const result = await sink.answer({
          question: rest.join(" "),
          ...(values.k ? { k: Number(values.k) } : {}),
          ...(values.mode ? { mode: values.mode } : {}),
          ...(Object.keys(model).length > 0 ? { model } : {}),
        });
        process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : describeAnswer(result));
        return ExitCode.ok;
      }
      const result = await sink.search({
        query: rest.join(" "),
        k: Number(values.k ?? 5),
        ...(values.mode ? { mode: values.mode } : {}),
        ...(values.group ? { group: values.group } : {}),
      });
      if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else
        for (const [i, r] of result.results.entries())
          process.stdout.write(
            `${i + 1}. ${r.documentId} (${r.score.toFixed(3)})\n   ${r.text.replace(/\s+/g, " ").slice(0, 200)}\n`,
          );
      return ExitCode.ok;
    } catch (error) {
      const message =
        error instanceof BulkSourceError
          ? error.message
          : typeof error === "object" && error !== null && "message" in error
            ? String((error as { message: unknown }).message)
            : describeClientError(error);
      process.stderr.write(`\narbor memory: ${message}\n`);
      return ExitCode.failed;
    } finally {
      await sink.close();
    }
  },
};
