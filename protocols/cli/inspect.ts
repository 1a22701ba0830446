/**
 * `arbor inspect --connect ws://…/rpc [treeId]`: prints the live tree(s) of a running server —
 * each agent's kind, state and restarts. `--watch` redraws on every event until Ctrl-C; `--json`
 * prints machine output (one tree per line).
 */
import { parseArgs } from "node:util";
import { ArborClient } from "../client/client.ts";
import { ConnectionClosed, RpcError } from "../client/errors.ts";
import { type Command, ExitCode } from "./command.ts";
import { describeFlagError } from "./flags.ts";
import { AgentStats, describeEvent, renderTree } from "./live-view.ts";
import { colorOn, eraseRows, redrawOn, rowsOf } from "./terminal.ts";

const usage = `Usage: arbor inspect --connect <ws://host:port/rpc> [treeId] [options]

Prints the live tree of a running server (all of your trees when no id is given).

Options:
  --connect <url>    the server's WebSocket endpoint (default: $ARBOR_URL or ws://127.0.0.1:7420/rpc)
  --token <token>    bearer token (default: $ARBOR_TOKEN)
  --watch            redraw on every event until Ctrl-C (needs a treeId)
  --json             one JSON object per tree on stdout

Examples:
  arbor inspect --connect ws://127.0.0.1:7420/rpc
  arbor inspect --connect ws://127.0.0.1:7420/rpc demo --watch`;

const fail = (message: string, code: number = ExitCode.usage): number => {
  process.stderr.write(`arbor inspect: ${message}\n`);
  return code;
};

/** A human-readable line for a client-side failure. */
export const describeClientError = (error: unknown): string =>
  error instanceof RpcError
    ? `${error.message} (${error.reason}, code ${error.code})`
    : error instanceof ConnectionClosed
      ? error.message
      : String(error);

/** The default endpoint: `$ARBOR_URL`, else the local default port. */
export const defaultUrl = (): string => process.env.ARBOR_URL ?? "ws://127.0.0.1:7420/rpc";

const watch = async (client: ArborClient, treeId: string): Promise<number> => {
  const ansi = colorOn(process.stdout);
  const redraw = redrawOn(process.stdout);
  let drawn = 0;
  const recent: Array<string> = [];
  // The growing text of working agents (agent.delta of asks that stream).
  const stats = new AgentStats();
  let drawing = false;
  let again = false;
  /** Draws the tree; a request while drawing is remembered, so the last event is always shown. */
  const draw = async (): Promise<void> => {
    if (drawing) {
      again = true;
      return;
    }
    drawing = true;
    try {
      const root = await client.inspect(treeId);
      const lines = [
        `arbor inspect ${treeId}  (Ctrl-C to stop)`,
        ...renderTree(root, ansi, undefined, (address) => stats.writing(address)),
        "",
        ...recent.map((l) => `  ${l}`),
      ];
      const clear = redraw ? eraseRows(drawn) : "";
      process.stdout.write(`${clear}${lines.join("\n")}\n`);
      drawn = rowsOf(lines, process.stdout.columns);
    } catch {
      // The tree stopped; the tree.stopped line says so.
    } finally {
      drawing = false;
    }
    if (again) {
      again = false;
      await draw();
    }
  };
  let finished = false;
  let resolveStopped: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => {
    resolveStopped = resolve;
  });
  const finish = (code: () => number) => {
    if (finished) return;
    finished = true;
    resolveStopped(code());
  };
  // Subscribed before the first drawing, so nothing that happens after it is missed.
  await client.subscribe({ treeId }, (event) => {
    stats.event(event);
    const line = describeEvent(event);
    if (line) {
      recent.push(line);
      if (recent.length > 8) recent.shift();
    }
    if (event.type === "tree.stopped") {
      process.stdout.write(`${line ?? "tree stopped"}\n`);
      finish(() => ExitCode.ok);
    } else void draw();
  });
  client.onClose((error) => finish(() => fail(error.message, ExitCode.failed)));
  process.once("SIGINT", () => finish(() => ExitCode.ok));
  await draw();
  return stopped;
};

/** The `inspect` command module. */
export const inspectCommand: Command = {
  name: "inspect",
  summary: "print a running server's live trees",
  usage,
  run: async (argv) => {
    const options = {
      connect: { type: "string" },
      token: { type: "string" },
      watch: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    } as const;
    let parsed: ReturnType<
      typeof parseArgs<{ options: typeof options; strict: true; allowPositionals: true }>
    >;
    try {
      parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
    } catch (error) {
      return fail(`${describeFlagError(error, options)}\n(arbor inspect --help lists the options)`);
    }
    const { values, positionals } = parsed;
    if (positionals.length > 1) return fail(`expected at most one tree id, got ${positionals.length}`);
    const treeId = positionals[0];
    if (values.watch && treeId === undefined) return fail("--watch needs a tree id");
    let client: ArborClient;
    try {
      client = await ArborClient.connect(
        values.connect ?? defaultUrl(),
        values.token ? { token: values.token } : {},
      );
    } catch (error) {
      const url = values.connect ?? defaultUrl();
      const refused = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/.test(describeClientError(error));
      return fail(
        refused
          ? `no Arbor server at ${url}; start one with \`arbor serve\` (or \`npm start\` in a clone), or pass --connect <url>`
          : describeClientError(error),
        ExitCode.failed,
      );
    }
    try {
      if (values.watch && treeId !== undefined) return await watch(client, treeId);
      const ids = treeId !== undefined ? [treeId] : (await client.trees()).map((t) => t.treeId);
      if (ids.length === 0 && !values.json) process.stdout.write("no trees running\n");
      for (const id of ids) {
        const root = await client.inspect(id);
        process.stdout.write(
          values.json
            ? `${JSON.stringify({ treeId: id, root })}\n`
            : `${id}\n${renderTree(root, colorOn(process.stdout)).join("\n")}\n`,
        );
      }
      return ExitCode.ok;
    } catch (error) {
      return fail(
        describeClientError(error),
        error instanceof RpcError && error.fault === "user" ? ExitCode.usage : ExitCode.failed,
      );
    } finally {
      await client.close();
    }
  },
};
