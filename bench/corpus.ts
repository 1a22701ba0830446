/**
 * Real-text corpora for the retrieval bench, read from what is already on the machine (nothing
 * downloaded, nothing generated), each as known-item queries: one query per document, the
 * document's own one-line description.
 *
 * - `man`: English manual pages in `/usr/share/man/man1` (Debian packages: coreutils, LLVM, git,
 *   OpenSSL, Perl …). The query is the page's `NAME` line (`ls - list directory contents` gives
 *   "list directory contents"); the `NAME` section is removed from the document, so the query
 *   appears verbatim in it only when the page repeats it elsewhere.
 * - `readme`: the READMEs of the packages in `node_modules`, the query being the `description` of
 *   the package's `package.json` (READMEs often, not always, repeat it).
 *
 * - any known-item corpus as JSON lines (`jsonlCorpus`), such as the npm READMEs that
 *   `bench/fetch-npm-readmes.ts` fetches.
 *
 * All are deterministic: the same machine gives the same documents and queries in the same order.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

/** One document and the query that should find it. */
export interface KnownItem {
  readonly documentId: string;
  readonly text: string;
  readonly query: string;
}

const fnv = (text: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
};

/** roff to plain text: macro names dropped (their arguments kept), font and character escapes removed. */
const roffText = (roff: string): string =>
  roff
    .split("\n")
    .filter((line) => !/^\.\s*\\"/.test(line) && !/^'\\"/.test(line))
    .map((line) => {
      if (!line.startsWith(".") && !line.startsWith("'")) return line;
      const m = /^[.']\s*([A-Za-z]{1,3})\s*(.*)$/.exec(line);
      if (!m) return "";
      const [, macro, args] = m;
      if (/^(SH|SS|TP|IP|B|I|BR|IR|RB|RI|BI|IB|SM|SB|Nm|Nd|Sh|Ss|It|Fl|Ar|Pa|Xr|Cm|Dv|Em)$/.test(macro!))
        return (args ?? "").replace(/"/g, "");
      return "";
    })
    .join("\n")
    .replace(/\\f(\[[^\]]*\]|\(..|.)/g, "")
    .replace(/\\\*(\[[^\]]*\]|\(..|.)/g, "")
    .replace(/\\s[-+]?\d/g, "")
    .replace(/\\\((..)/g, (_, c: string) => (c === "em" || c === "en" ? "-" : c === "aq" ? "'" : " "))
    .replace(/\\\[[^\]]*\]/g, " ")
    .replace(/\\[-e]/g, (e) => (e === "\\-" ? "-" : "\\"))
    .replace(/\\[&|^~0 ]/g, " ")
    .replace(/[ \t]+/g, " ")
    .replace(/\n{3,}/g, "\n\n")
    .trim();

/**
 * Up to `limit` man pages (section 1), chosen by a hash of the file name so that every part of the
 * alphabet (and so every package) is represented. `undefined` when the machine has no man pages.
 */
export const manCorpus = (limit: number, root = "/usr/share/man"): ReadonlyArray<KnownItem> | undefined => {
  const files: string[] = [];
  for (const section of ["man1", "man3", "man5", "man7", "man8"]) {
    try {
      for (const f of readdirSync(join(root, section))) {
        // The Google Cloud SDK's thousands of generated pages ("gcloud alpha … delete": "delete a
        // service") would make most queries ambiguous; leave them out.
        if (f.endsWith(".gz") && !f.startsWith("gcloud")) files.push(join(section, f));
      }
    } catch {}
  }
  if (files.length === 0) return undefined;
  const items: KnownItem[] = [];
  const seen = new Set<string>();
  for (const file of files.sort((a, b) => fnv(a) - fnv(b) || (a < b ? -1 : 1))) {
    if (items.length >= limit) break;
    const path = join(root, file);
    if (!statSync(path).isFile()) continue;
    let roff: string;
    try {
      roff = gunzipSync(readFileSync(path)).toString("utf8");
    } catch {
      continue;
    }
    if (/^\.so\s/m.test(roff.slice(0, 200))) continue; // a redirect to another page
    const text = roffText(roff);
    const name = /(^|\n)NAME\s*\n([\s\S]*?)\n(?=[A-Z][A-Z ]+\n)/.exec(text);
    if (!name) continue;
    const line = name[2]!.replace(/\s+/g, " ").trim();
    const dash = line.search(/ - | -- /);
    if (dash < 0) continue;
    const query = line.slice(dash).replace(/^ -+ /, "").trim();
    const body = text.replace(name[0], name[1] ?? "").trim();
    if (query.split(" ").length < 3 || body.length < 400) continue;
    const key = `${fnv(body.slice(0, 2000))}`;
    // The same page under two names, or two pages with one description: not a known item.
    if (seen.has(key) || seen.has(query)) continue;
    seen.add(key);
    seen.add(query);
    items.push({ documentId: file.replace(/\.gz$/, "").replace(/^man\d\//, ""), text: body, query });
  }
  return items;
};

/** The package folders of a `node_modules` (scoped ones included), sorted. */
export const packageDirs = (root: string): ReadonlyArray<string> => {
  const dirs: string[] = [];
  for (const name of readdirSync(root)) {
    if (name.startsWith(".")) continue;
    if (name.startsWith("@")) {
      for (const sub of readdirSync(join(root, name))) dirs.push(join(root, name, sub));
    } else dirs.push(join(root, name));
  }
  return dirs.sort();
};

/**
 * Known items made by `add`, each admitted once its query has three words or more, its text 400
 * characters or more, and no earlier item asked the same query.
 */
const knownItems = () => {
  const items: KnownItem[] = [];
  const seen = new Set<string>();
  const add = (documentId: string, query: string, text: string) => {
    const asked = query.trim();
    if (asked.split(/\s+/).length < 3 || text.length < 400 || seen.has(asked)) return;
    seen.add(asked);
    items.push({ documentId, text, query: asked });
  };
  return { items, add };
};

/** The READMEs of the packages in `root` (a `node_modules`), with their descriptions as queries. */
export const readmeCorpus = (root: string, limit = Number.POSITIVE_INFINITY): ReadonlyArray<KnownItem> => {
  const { items, add } = knownItems();
  for (const dir of packageDirs(root)) {
    if (items.length >= limit) break;
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        description?: string;
      };
      const readme = readdirSync(dir).find((f) => /^readme(\.md|\.markdown|\.txt)?$/i.test(f));
      if (!pkg.name || !pkg.description || !readme) continue;
      add(pkg.name, pkg.description, readFileSync(join(dir, readme), "utf8"));
    } catch {}
  }
  return items;
};

/**
 * Up to `limit` known items from a JSON-lines file, one `{id, query, text}` a line, with the same
 * rules as the READMEs (a query of three words or more, a text of 400 characters or more, each
 * query once). A line that is not such an object stops the run with its number.
 */
export const jsonlCorpus = (path: string, limit = Number.POSITIVE_INFINITY): ReadonlyArray<KnownItem> => {
  const { items, add } = knownItems();
  const lines = readFileSync(path, "utf8").split("\n");
  for (const [i, line] of lines.entries()) {
    if (items.length >= limit) break;
    if (line.trim() === "") continue;
    let item: { id?: unknown; query?: unknown; text?: unknown };
    try {
      item = JSON.parse(line) as typeof item;
    } catch {
      throw new Error(`${path}:${i + 1}: not JSON`);
    }
    if (typeof item.id !== "string" || typeof item.query !== "string" || typeof item.text !== "string")
      throw new Error(`${path}:${i + 1}: expected {"id", "query", "text"}, all strings`);
    add(item.id, item.query, item.text);
  }
  return items;
};
