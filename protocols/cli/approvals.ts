/**
 * `arbor approvals`: the tool calls waiting for a person on a running server, and deciding them.
 * Tenant-scoped by the token: a tenant sees and decides its own trees' approvals; the operator
 * (no token on localhost, or the default token) sees every one.
 */
import { parseArgs } from "node:util";
import { ArborClient } from "../client/client.ts";
import type { ApprovalSummary } from "../ws/contract.ts";
import { type Command, ExitCode } from "./command.ts";
import { describeFlagError } from "./flags.ts";
import { defaultUrl, describeClientError } from "./inspect.ts";

const usage = `Usage: arbor approvals [list | approve <id> | deny <id>] [options]

Lists the tool calls waiting for a person's approval on a running server, or decides one. The
agent's step waits until then (or until approvals.timeoutMs, 10 minutes by default, denies it).

Options:
  --connect <url>   the server (default: $ARBOR_URL or ws://127.0.0.1:7420/rpc)
  --token <token>   bearer token (default: $ARBOR_TOKEN)
  --reason <text>   why (the model reads it with a denial)
  --args <json>     approve with these arguments instead of the model's (checked against the tool's schema)
  --json            print JSON

Examples:
  arbor approvals --connect ws://127.0.0.1:7420/rpc
  arbor approvals approve ap_3f2a9c1e0b7d4e21
  arbor approvals deny ap_3f2a9c1e0b7d4e21 --reason "not on the release branch"
  arbor approvals approve ap_3f2a9c1e0b7d4e21 --args '{"path":"notes/draft.md","content":"…"}'`;

const fail = (message: string, code: number = ExitCode.usage): number => {
  process.stderr.write(`arbor approvals: ${message}\n`);
  return code;
};

const shorten = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** One line per pending approval: id, tool, agent, time left, arguments. */
export const formatApprovals = (approvals: ReadonlyArray<ApprovalSummary>, now: number): string =>
  approvals.length === 0
    ? "no approvals waiting"
    : approvals
        .map(
          (a) =>
            `${a.approvalId}  ${a.tool}  ${a.address}  expires in ${Math.max(0, Math.round((a.expiresAt - now) / 1000))} s\n    ${shorten(JSON.stringify(a.args), 200)}`,
        )
        .join("\n");

export const approvalsCommand: Command = {
  name: "approvals",
  summary: "list and decide tool calls waiting for a person",
  usage,
  run: async (argv) => {
    const options = {
      connect: { type: "string" },
      token: { type: "string" },
      reason: { type: "string" },
      args: { type: "string" },
      json: { type: "boolean", default: false },
    } as const;
    let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
    try {
      parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    } catch (error) {
      return fail(`${describeFlagError(error, options)}\n(arbor approvals --help lists the options)`);
    }
    const { values, positionals } = parsed;
    const [action = "list", id, ...rest] = positionals;
    if (!["list", "approve", "deny"].includes(action))
      return fail(`unknown action "${action}": use list, approve <id> or deny <id>`);
    if (action !== "list" && id === undefined)
      return fail(`${action} needs an approval id (see arbor approvals list)`);
    if (rest.length > 0) return fail(`unexpected arguments: ${rest.join(" ")}`);
    let args: unknown;
    if (values.args !== undefined) {
      if (action !== "approve") return fail("--args goes with approve");
      try {
        args = JSON.parse(values.args);
      } catch (error) {
        return fail(`--args is not JSON: ${(error as Error).message}`);
      }
    }
    const url = values.connect ?? defaultUrl();
    let client: ArborClient | undefined;
    try {
      client = await ArborClient.connect(url, values.token !== undefined ? { token: values.token } : {});
      if (action === "list") {
        const approvals = await client.approvals();
        process.stdout.write(
          `${values.json ? JSON.stringify({ approvals }) : formatApprovals(approvals, Date.now())}\n`,
        );
        return ExitCode.ok;
      }
      const decided = await client.decide(id!, {
        decision: action === "approve" ? "approve" : "deny",
        ...(values.reason !== undefined ? { reason: values.reason } : {}),
        ...(args !== undefined ? { args } : {}),
      });
      process.stdout.write(
        values.json
          ? `${JSON.stringify(decided)}\n`
          : `${decided.decision === "approve" ? "✓ approved" : "✗ denied"} ${decided.approvalId}\n`,
      );
      return ExitCode.ok;
    } catch (error) {
      return fail(describeClientError(error), ExitCode.failed);
    } finally {
      await client?.close();
    }
  },
};
