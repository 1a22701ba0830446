/**
 * The list of `arbor` sub-commands: a name and a one-line summary each, with the module loaded
 * only when the command runs, so `arbor --help` and `arbor --version` load nothing heavy.
 */
import type { Command } from "./command.ts";

export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

export const commands: ReadonlyArray<CommandEntry> = [
  {
    name: "serve",
    summary: "run the runtime as a WebSocket JSON-RPC server",
    load: () => import("./serve.ts").then((m) => m.serveCommand),
  },
  {
    name: "run",
    summary: "run a tree in process and give its root a task",
    load: () => import("./run.ts").then((m) => m.runCommand),
  },
  {
    name: "arena",
    summary: "run an evaluation arena and show the standings",
    load: () => import("./arena.ts").then((m) => m.arenaCommand),
  },
  {
    name: "inspect",
    summary: "print a running server's live trees",
    load: () => import("./inspect.ts").then((m) => m.inspectCommand),
  },
  {
    name: "approvals",
    summary: "list and decide tool calls waiting for a person",
    load: () => import("./approvals.ts").then((m) => m.approvalsCommand),
  },
  {
    name: "mcp",
    summary: "offer the tool registry to MCP clients over stdio",
    load: () => import("./mcp.ts").then((m) => m.mcpCommand),
  },
  {
    name: "providers",
    summary: "show providers and their keys (fingerprints only)",
    load: () => import("./providers.ts").then((m) => m.providersCommand),
  },
  {
    name: "usage",
    summary: "show what provider calls cost, grouped by agent, model, day or tenant",
    load: () => import("./usage.ts").then((m) => m.usageCommand),
  },
  {
    name: "memory",
    summary: "load documents into memory (in batches, with progress) and search it",
    load: () => import("./memory.ts").then((m) => m.memoryCommand),
  },
  {
    name: "bench",
    summary: "run the benchmarks (each against a same-run baseline)",
    load: () => import("./bench.ts").then((m) => m.benchCommand),
  },
];
