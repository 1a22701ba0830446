import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import { removeDataDir, seededDataDir } from "../support/seeded-data-dir.ts";

const exec = promisify(execFile);

describe("arbor run --memory", () => {
  it("gives agents the memory tools on the embedded store, and what they remember survives the run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arbor-memory-"));
    const spec = (script: unknown[]) => {
      const file = join(dir, `spec-${script.length}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          name: "mem",
          root: { name: "lead", kind: "child", input: "go", model: { provider: "scripted", script } },
        }),
      );
      return file;
    };
    const dataDir = seededDataDir("arbor-memory-data-");
    onTestFinished(() => removeDataDir(dataDir));
    const env = { ...process.env, ARBOR_DATA_DIR: dataDir };
    const remember = spec([
      {
        toolCalls: [
          { name: "memory.remember", args: { entity: "user:ada", attribute: "city", value: "Lisbon" } },
        ],
      },
      { text: "noted: {{tool}}" },
    ]);
    const first = await exec("node", ["bin/arbor.mjs", "run", remember, "--memory", "--json"], { env });
    expect(first.stdout).toMatch(/"type":"tool.result","tree":"mem".*"tool":"memory.remember".*"ok":true/);
    // A second run, a new process: the fact is still there.
    const recall = spec([
      { toolCalls: [{ name: "memory.recall", args: { entity: "user:ada" } }] },
      { text: "recalled {{tool}}" },
      { text: "-" },
    ]);
    const second = await exec("node", ["bin/arbor.mjs", "run", recall, "--memory", "--json"], { env });
    const summary = JSON.parse(second.stdout.trim().split("\n").at(-1)!) as {
      status: string;
      output: string;
    };
    expect(summary.status).toBe("completed");
    expect(summary.output).toMatch(/"attribute":"city","value":"Lisbon"/);
  });
});

describe("arbor run --memory with provider embeddings", () => {
  it("embeds through the runtime's model router (the OpenAI adapter against a local /v1/embeddings server)", async () => {
    const requests: Array<{ path: string; auth: string; input: unknown }> = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        const parsed = JSON.parse(body || "{}") as { input?: string | string[] };
        requests.push({ path: req.url ?? "", auth: String(req.headers.authorization), input: parsed.input });
        const inputs = Array.isArray(parsed.input) ? parsed.input : [parsed.input ?? ""];
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            object: "list",
            model: "text-embedding-3-small",
            data: inputs.map((_, index) => ({
              object: "embedding",
              index,
              embedding: [1, 0, 0, 0, 0, 0, 0, index],
            })),
            usage: { prompt_tokens: 3, total_tokens: 3 },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const dir = mkdtempSync(join(tmpdir(), "arbor-embed-"));
      const dataDir = seededDataDir("arbor-embed-data-", "bare");
      onTestFinished(() => removeDataDir(dataDir));
      const config = join(dir, "arbor.config.json");
      writeFileSync(
        config,
        JSON.stringify({
          knowledge: { embedder: { provider: "openai", model: "text-embedding-3-small", dimension: 8 } },
        }),
      );
      const spec = join(dir, "spec.json");
      const script = [
        { toolCalls: [{ name: "memory.search", args: { query: "where is ada", mode: "vector" } }] },
        { text: "searched: {{tool}}" },
      ];
      writeFileSync(
        spec,
        JSON.stringify({
          name: "emb",
          root: { name: "lead", kind: "child", input: "go", model: { provider: "scripted", script } },
        }),
      );
      const { port } = server.address() as AddressInfo;
      const env = {
        ...process.env,
        ARBOR_DATA_DIR: dataDir,
        OPENAI_API_KEY: "sk-embed-test-0001",
        OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
      };
      const { stdout } = await exec(
        "node",
        ["bin/arbor.mjs", "run", spec, "--memory", "--config", config, "--json"],
        { env },
      );
      const summary = JSON.parse(stdout.trim().split("\n").at(-1)!) as { status: string; output: string };
      expect(summary.status).toBe("completed");
      expect(requests).toContainEqual({
        path: "/v1/embeddings",
        auth: "Bearer sk-embed-test-0001",
        input: ["where is ada"],
      });
      expect(stdout).not.toContain("sk-embed-test-0001");
    } finally {
      server.close();
    }
  });

  it("an agent recalls what `arbor memory ingest` loaded, with citations, in the next process", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arbor-recall-"));
    const docs = join(dir, "docs");
    mkdirSync(docs);
    writeFileSync(
      join(docs, "backups.md"),
      "# Backups\n\nThe nightly backup of the orders database runs at 02:00 UTC.\n",
    );
    const dataDir = seededDataDir("arbor-recall-data-");
    onTestFinished(() => removeDataDir(dataDir));
    const env = { ...process.env, ARBOR_DATA_DIR: dataDir };
    await exec("node", ["bin/arbor.mjs", "memory", "ingest", docs, "--json"], { env });
    const file = join(dir, "spec.json");
    writeFileSync(
      file,
      JSON.stringify({
        name: "desk",
        root: {
          name: "helper",
          kind: "child",
          input: "When does the nightly backup run?",
          model: { provider: "scripted", script: [{ text: "{{system}}" }] },
          memory: { recall: { k: 1 } },
        },
      }),
    );
    const { stdout } = await exec("node", ["bin/arbor.mjs", "run", file, "--memory", "--json"], { env });
    const summary = JSON.parse(stdout.trim().split("\n").at(-1)!) as { status: string; output: string };
    expect(summary.status).toBe("completed");
    expect(summary.output).toContain("[1] (backups.md)");
    expect(summary.output).toContain("02:00 UTC");
    expect(stdout).toMatch(/"type":"memory.recalled".*"passages":1/);
  });
});
