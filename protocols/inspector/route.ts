/**
 * The web inspector's assets, served by `arbor serve` at `/` (the page) and `/inspector/…` (its
 * scripts, styles and the Preact + htm modules it is built with). The page is a client of the public
 * JSON-RPC protocol over the same WebSocket as every other client; these routes serve files only,
 * hold no data and need no token. Everything ships in the package: nothing is fetched from elsewhere.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { join, normalize, sep } from "node:path";
import { packageRoot } from "../../runtime/package-root.ts";
import type { HttpRoute } from "../ws/server.ts";

const types: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** The vendored modules, by the name the page's import map gives them. */
const vendor = (require: NodeJS.Require): Readonly<Record<string, string>> => ({
  "preact.mjs": require.resolve("preact").replace(/preact\.js$/, "preact.mjs"),
  "hooks.mjs": require.resolve("preact/hooks").replace(/hooks\.js$/, "hooks.mjs"),
  "htm.mjs": require.resolve("htm").replace(/htm\.js$/, "htm.mjs"),
});

/** The Content-Security-Policy of the page: its own scripts and the one inline import map only. */
const policyFor = (html: string): string => {
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "";
  const hash = createHash("sha256").update(importMap).digest("base64");
  return [
    "default-src 'self'",
    `script-src 'self' 'sha256-${hash}'`,
    "connect-src 'self' ws: wss:",
    "img-src 'self' data:",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
};

/**
 * The inspector's routes: `/` (the page) and `/inspector/` (its assets); the page is told the
 * WebSocket path. Files are read once; a request for anything else below `/inspector/` is a 404.
 */
export const inspectorRoutes = (options: { readonly rpcPath: string }): ReadonlyArray<HttpRoute> => {
  const root = packageRoot();
  const assets = join(root, "inspector");
  const require = createRequire(join(root, "package.json"));
  const files = new Map<string, string>();
  const vendored = vendor(require);
  const read = (file: string) => {
    let text = files.get(file);
    if (text === undefined) {
      text = readFileSync(file, "utf8");
      files.set(file, text);
    }
    return text;
  };
  const page = read(join(assets, "index.html")).replace(
    '<meta name="arbor-rpc" content="/rpc" />',
    `<meta name="arbor-rpc" content="${options.rpcPath.replace(/[^A-Za-z0-9/_.-]/g, "")}" />`,
  );
  const headers = {
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
  const send = (res: ServerResponse, status: number, type: string, body: string, extra = {}) => {
    res.writeHead(status, { "content-type": type, ...headers, ...extra }).end(body);
  };
  const assetOf = (path: string): string | undefined => {
    const name = path.slice("/inspector/".length);
    if (name.startsWith("vendor/")) return vendored[name.slice("vendor/".length)];
    const file = normalize(join(assets, name));
    return file.startsWith(assets + sep) && existsSync(file) ? file : undefined;
  };
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "GET" && req.method !== "HEAD")
      return send(res, 405, "text/plain", "method not allowed");
    if (path === "/")
      return send(res, 200, types[".html"]!, page, {
        "content-security-policy": policyFor(page),
        "x-frame-options": "DENY",
      });
    const file = assetOf(path);
    if (file === undefined) return send(res, 404, "text/plain; charset=utf-8", `not found: ${path}`);
    const ext = /\.[a-z]+$/.exec(file)?.[0] ?? "";
    return send(res, 200, types[ext] ?? "application/octet-stream", read(file));
  };
  return [
    { path: "/", public: true, operatorOnly: false, handle: serve },
    { path: "/inspector/", prefix: true, public: true, operatorOnly: false, handle: serve },
  ];
};
