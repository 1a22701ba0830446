/**
 * The web inspector in a real headless Chromium (Debian's package, driven by playwright-core),
 * against a real `arbor serve` child process with the embedded store: a tree spawned over the wire is
 * drawn, a child killed from the page comes back restarted, the event log filters and opens events,
 * memory search and an entity's history and relations show, providers show fingerprints and never a
 * key; with tokens configured the page asks for one and shows only that tenant's trees.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArborClient } from "../../protocols/client/index.ts";
import { removeDataDir, seededDataDir } from "../support/seeded-data-dir.ts";

/** Where Debian's chromium package puts the browser (`.ci/run` installs it when missing). */
const chromiumPath = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const openaiKey = "sk-inspector-test-key-0000SECRET";
const shots = process.env.ARBOR_SCREENSHOTS ?? join(tmpdir(), "arbor-inspector-shots");

interface Served {
  readonly url: string;
  readonly httpUrl: string;
  readonly child: ChildProcess;
  readonly stop: () => Promise<void>;
}

/** Starts the compiled `arbor serve` on a free port and waits for its listening line. */
const serve = async (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Promise<Served> => {
  const child = spawn("node", ["bin/arbor.mjs", "serve", "--port", "0", "--json", ...args], {
    env: { ...process.env, ...env },
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const line = await new Promise<{ url: string; inspector: string }>((resolve, reject) => {
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const found = stdout.split("\n").find((l) => l.includes('"serve.listening"'));
      if (found) resolve(JSON.parse(found));
    });
    child.on("exit", (code) => reject(new Error(`arbor serve exited (${code}): ${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return {
    url: line.url,
    httpUrl: line.inspector.replace(/\/$/, ""),
    child,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
};

let browser: Browser;
let page: Page;
let server: Served;
let client: ArborClient;
let dataDir: string;

beforeAll(async () => {
  if (chromiumPath === undefined)
    throw new Error("chromium is not installed: `apt-get install -y chromium` (.ci/run does it)");
  mkdirSync(shots, { recursive: true });
  dataDir = seededDataDir("arbor-inspector-");
  [browser, server] = await Promise.all([
    chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] }),
    serve([], { ARBOR_DATA_DIR: dataDir, OPENAI_API_KEY: openaiKey, NO_COLOR: "1" }),
  ]);
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  client = await ArborClient.connect(server.url);
});

afterAll(async () => {
  await client?.close();
  await browser?.close();
  await server?.stop();
  if (dataDir) removeDataDir(dataDir);
});

const tab = (name: string) => page.getByRole("tab", { name }).click();

describe("the inspector", () => {
  it("draws a tree spawned over the wire, restarts a child killed from the page, and asks it", async () => {
    await page.goto(`${server.httpUrl}/`);
    await page.locator("#status").getByText("connected").waitFor();
    const tree = await client.spawn({
      name: "seen",
      durable: true,
      root: {
        name: "lead",
        kind: "parent",
        model: { provider: "scripted", script: [{ text: "lead heard: {{input}}" }] },
        children: [
          { name: "upper", kind: "micro", handler: "upper" },
          {
            name: "writer",
            kind: "child",
            history: { maxMessages: 10 },
            model: { provider: "scripted", script: [{ text: "draft: {{input}}" }] },
          },
        ],
      },
    });
    const writer = page.locator(`g[data-address="${tree.root}/writer"]`);
    await writer.waitFor();
    await page.locator(`article[data-tree="${tree.treeId}"] .badge`).getByText("durable").waitFor();
    await expect(page.locator(`g[data-address="${tree.root}/upper"]`).count()).resolves.toBe(1);
    await page.screenshot({ path: join(shots, "trees.png") });

    // Keyboard: focus the node and press Enter to open its panel.
    await writer.focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: `${tree.root}/writer` }).waitFor();
    await page.getByRole("button", { name: "Kill (restart)" }).click();
    await page.locator(`g[data-address="${tree.root}/writer"][data-restarts="1"]`).waitFor();

    await page.getByPlaceholder("Ask this agent…").fill("hello");
    await page.getByPlaceholder("Thread (asks above join it)").fill("t1");
    await page.getByRole("button", { name: "Ask", exact: true }).click();
    await page.locator(".answer").getByText("draft: hello").waitFor();
    await page.getByRole("button", { name: "Show history" }).click();
    await expect
      .poll(() => page.locator("ol.history li").allTextContents())
      .toEqual(["user hello", "assistant draft: hello"]);
    await page.screenshot({ path: join(shots, "agent.png") });
  });

  it("shows the live event log, filters it, and opens one event whole", async () => {
    await tab("Events");
    await page.locator('li[data-type="agent.restarted"]').first().waitFor();
    await page.getByLabel("Type").fill("restarted");
    await expect
      .poll(
        async () =>
          new Set(
            await page
              .locator("ol.events li")
              .evaluateAll((els) => els.map((e) => e.getAttribute("data-type"))),
          ),
      )
      .toEqual(new Set(["agent.restarted"]));
    await page.locator("ol.events li button").first().click();
    await page.locator("pre.whole").getByText('"incarnation"').waitFor();
    await page.screenshot({ path: join(shots, "events.png") });
  });

  it("searches memory and shows an entity's history and relations", async () => {
    await client.request("memory.ingest", {
      documentId: "launch",
      text: "The zeppelin launches at dawn from the north field.",
    });
    await client.request("memory.ingest", {
      documentId: "menu",
      text: "Lunch is soup and bread on Tuesdays.",
    });
    await client.request("memory.remember", { entity: "user:ann", attribute: "city", value: "Oslo" });
    await client.request("memory.remember", { entity: "user:ann", attribute: "city", value: "Bergen" });
    await client.request("memory.relate", { from: "user:ann", to: "org:acme", type: "works_at" });
    await tab("Memory");
    await page.getByPlaceholder("Search memory…").fill("zeppelin");
    await page.getByRole("button", { name: "Search" }).click();
    await expect(page.locator("ol.hits li").first().getAttribute("data-document")).resolves.toBe("launch");
    // Document-level results: distinct documents, each with its best passages and a citation.
    await page.getByLabel("Results").selectOption("document");
    await page.getByRole("button", { name: "Search" }).click();
    await page.locator("ol.documents li[data-document='launch'] p").first().getByText("— launch").waitFor();
    await page.getByPlaceholder("user:ann").fill("user:ann");
    await page.getByRole("button", { name: "Show facts and relations" }).click();
    await page.locator("table.facts-table tr.current").getByText('"Bergen"').waitFor();
    await page.locator("table.facts-table tr.past").getByText('"Oslo"').waitFor();
    await page.locator("svg.graph .relation").getByText("works_at").waitFor();
    await page.screenshot({ path: join(shots, "memory.png") });
  });

  it("shows provider pools by fingerprint, never a key", async () => {
    await tab("Providers");
    await page.locator("article.provider h3").getByText("openai").waitFor();
    await expect(page.locator("article.provider code").first().textContent()).resolves.toMatch(/^sha256:/);
    expect(await page.content()).not.toContain(openaiKey);
    // The usage ledger's spend per day: the asks above were recorded.
    await page.locator('svg[aria-label="spend by day"] text').filter({ hasText: /calls/ }).first().waitFor();
    await page.screenshot({ path: join(shots, "providers.png") });
  });

  it("lists a tool call waiting for approval and denies it from the page; the model reads the reason", async () => {
    const tree = await client.spawn({
      name: "gated",
      root: {
        name: "lead",
        kind: "parent",
        tools: { allow: ["send_to_agent"], approve: ["send_*"] },
        model: {
          provider: "scripted",
          script: [
            { toolCalls: [{ name: "send_to_agent", args: { to: "upper", message: "psst" } }] },
            { text: "tool said: {{tool}}" },
          ],
        },
        children: [{ name: "upper", kind: "micro", handler: "upper" }],
      },
    });
    const answer = client.ask(tree.root, "pass it on");
    await tab("Approvals");
    const waiting = page.locator("li.approval").filter({ hasText: "send_to_agent" });
    await waiting.waitFor();
    await expect(waiting.textContent()).resolves.toContain('"message": "psst"');
    await page.screenshot({ path: join(shots, "approvals.png") });
    await waiting.getByPlaceholder("Reason (optional)").fill("not now");
    await waiting.getByRole("button", { name: "Deny" }).click();
    await expect((await answer).output).toContain("denied by operator: not now");
    await page.getByText("No tool call is waiting for a person.").waitFor();
  });
});

describe("the inspector with tokens", () => {
  it("asks for a token, keeps it in the tab, and shows only that tenant's trees", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arbor-inspector-tokens-"));
    const config = join(dir, "arbor.config.json");
    const tenantToken = "acme-token-0123456789abcdef";
    const operatorToken = "operator-token-0123456789abcdef";
    writeFileSync(config, JSON.stringify({ server: { tokens: [{ token: tenantToken, tenant: "acme" }] } }));
    const guarded = await serve(["--no-memory", "--config", config], { ARBOR_TOKEN: operatorToken });
    const operator = await ArborClient.connect(guarded.url, { token: operatorToken });
    try {
      await operator.spawn({ name: "operators", root: { name: "m", kind: "micro", handler: "echo" } });
      const tenantPage = await browser.newPage();
      await tenantPage.goto(`${guarded.httpUrl}/`);
      await tenantPage.getByLabel("Bearer token").fill(tenantToken);
      await tenantPage.getByRole("button", { name: "Connect" }).click();
      await tenantPage.locator("#status").getByText("connected").waitFor();
      await tenantPage.locator("#no-trees").waitFor();
      expect(await tenantPage.evaluate("sessionStorage.getItem('arbor.inspector.token')")).toBe(tenantToken);
      expect(await tenantPage.evaluate("localStorage.length")).toBe(0);
      await tenantPage.getByText("Spawn a tree").click();
      await tenantPage.getByRole("button", { name: "Spawn", exact: true }).click();
      await tenantPage.locator("article.tree-card").first().waitFor();
      const shown = await tenantPage
        .locator("article.tree-card")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-tree")));
      expect(shown).toHaveLength(1);
      expect(shown[0]).toMatch(/^demo-/);
      await tenantPage.close();
    } finally {
      await operator.close();
      await guarded.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
