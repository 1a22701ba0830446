/**
 * The live tree view of `arbor run` on a terminal: the tree with each agent's kind, state and
 * restarts, redrawn in place as events arrive, and the latest notable events under it.
 * Each agent shows how long its current (or last) task took and the tokens its model calls used.
 * Off a terminal it prints one readable line per notable event instead.
 */
import type { ArborEvent } from "../../runtime/events.ts";
import type { AgentNode } from "../../runtime/system.ts";
import { colorOn, eraseRows, rowsOf } from "./terminal.ts";

const color = (code: number, text: string, on: boolean) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);

const stateColor: Record<string, number> = {
  idle: 32,
  working: 33,
  restarting: 35,
  down: 31,
  stopped: 90,
  failed: 31,
};

/** Per-agent figures the live view adds to each line: task time and tokens. */
export interface AgentFigures {
  readonly since?: number;
  readonly elapsedMs?: number;
  readonly tokens: number;
}

/** Collects each agent's task time and token use from the event stream. */
export class AgentStats {
  private readonly byAddress = new Map<string, AgentFigures>();
  /** The text each working agent has written so far in its current task (from `agent.delta`). */
  private readonly text = new Map<string, string>();

  /** The tail of what the agent is writing now, on one line; empty when it is not writing. */
  writing(address: string, max = 60): string {
    const text = (this.text.get(address) ?? "").replace(/\s+/g, " ").trim();
    return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
  }

  event(event: ArborEvent, now: number = event.time): void {
    if (event.type === "agent.delta")
      this.text.set(event.address, (this.text.get(event.address) ?? "") + event.text);
    else if (
      event.type === "agent.task" ||
      event.type === "agent.replied" ||
      event.type === "agent.request_failed"
    )
      this.text.delete(event.address);
    const current = this.byAddress.get(event.address) ?? { tokens: 0 };
    if (event.type === "agent.task")
      this.byAddress.set(event.address, { tokens: current.tokens, since: now });
    else if (
      (event.type === "agent.replied" || event.type === "agent.request_failed") &&
      current.since !== undefined
    )
      this.byAddress.set(event.address, { tokens: current.tokens, elapsedMs: now - current.since });
    else if (event.type === "provider.call")
      this.byAddress.set(event.address, {
        ...current,
        tokens: current.tokens + event.inputTokens + event.outputTokens,
      });
  }

  /** ` 1.2s 340 tok` for an agent, as of `now`. */
  label(address: string, now: number): string {
    const figures = this.byAddress.get(address);
    if (!figures) return "";
    const ms = figures.since !== undefined ? now - figures.since : figures.elapsedMs;
    const time = ms === undefined ? "" : ` ${(ms / 1000).toFixed(1)}s`;
    return `${time}${figures.tokens > 0 ? ` ${figures.tokens} tok` : ""}`;
  }
}

/** Renders a tree as lines with box-drawing branches. */
export const renderTree = (
  root: AgentNode,
  ansi: boolean,
  figures?: (address: string) => string,
  writing?: (address: string) => string,
): string[] => {
  const lines: string[] = [];
  const walk = (node: AgentNode, prefix: string, last: boolean, top: boolean) => {
    const branch = top ? "" : last ? "└─ " : "├─ ";
    const label = `${node.name} ${color(90, `(${node.kind}${node.role ? `, ${node.role}` : ""})`, ansi)}`;
    const state = node.status === "running" ? node.state : node.status;
    const restarts = node.restarts > 0 ? color(35, ` ↻${node.restarts}`, ansi) : "";
    const queued = node.mailbox.size > 0 ? color(90, ` ✉${node.mailbox.size}`, ansi) : "";
    const extra = figures ? color(90, figures(node.address), ansi) : "";
    lines.push(
      `${prefix}${branch}${label}  ${color(stateColor[state] ?? 37, state, ansi)}${restarts}${queued}${extra}`,
    );
    const childPrefix = top ? "" : prefix + (last ? "   " : "│  ");
    const text = node.state === "working" ? writing?.(node.address) : undefined;
    if (text)
      lines.push(`${childPrefix}${node.children.length > 0 ? "│" : " "}  ${color(36, `✎ ${text}`, ansi)}`);
    node.children.forEach((child, i) => {
      walk(child, childPrefix, i === node.children.length - 1, false);
    });
  };
  walk(root, "", true, true);
  return lines;
};

/** One readable line for the events a person wants to see; undefined for the rest. */
export const describeEvent = (event: ArborEvent): string | undefined => {
  switch (event.type) {
    case "agent.failed":
      return `✗ ${event.address} failed: ${event.reason}`;
    case "agent.restarted":
      return `↻ ${event.address} restarted (#${event.restarts}, after ${event.delayMs} ms): ${event.reason}`;
    case "agent.escalated":
      return `⇧ ${event.address} escalated: ${event.reason}`;
    case "agent.replied":
      return `← ${event.address}: ${event.output.split("\n")[0]}`;
    case "agent.task":
      return `→ ${event.address}: ${event.input.split("\n")[0]}`;
    case "message.dropped":
      return `! ${event.address}: ${event.reason}`;
    case "tree.stopped":
      return `■ tree ${event.tree} ${event.status}: ${event.reason}`;
    case "tool.called":
      return `⚙ ${event.address} → ${event.tool}`;
    case "approval.requested":
      return `⏸ ${event.address} waits for approval of ${event.tool} (${event.approvalId})`;
    case "approval.decided":
      return `${event.decision === "approve" ? "✓" : "✗"} ${event.tool} ${event.decision === "approve" ? "approved" : "denied"} by ${event.by}${event.reason ? `: ${event.reason}` : ""}`;
    case "guardrail.blocked":
    case "guardrail.redacted":
      return `⛨ ${event.address} ${event.type.split(".")[1]} by ${event.policy}`;
    case "tripwire.triggered":
      return `⚡ ${event.address} ${event.tripwire}: ${event.measurement} > ${event.threshold} (${event.action})`;
    case "workflow.started":
      return `▶ workflow ${event.run}: ${event.steps} step${event.steps === 1 ? "" : "s"}`;
    case "workflow.step.started":
      return `▷ step ${event.step} → ${event.address}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ""}`;
    case "workflow.step.completed":
      return `✓ step ${event.step}: ${event.output.split("\n")[0]}`;
    case "workflow.step.waiting":
      return `⏸ step ${event.step} waits for approval (${event.approvalId}): ${event.prompt.split("\n")[0]}`;
    case "workflow.step.retried":
      return `↻ step ${event.step} retried after attempt ${event.attempt}: ${event.reason}`;
    case "workflow.step.skipped":
      return `⤼ step ${event.step} skipped: ${event.reason}`;
    case "workflow.step.failed":
      return `✗ step ${event.step} failed: ${event.reason}`;
    case "workflow.completed":
      return `■ workflow ${event.run} completed`;
    case "workflow.failed":
      return `■ workflow ${event.run} failed at ${event.step}: ${event.reason}`;
    default:
      return undefined;
  }
};

/** Redraws the tree in place on a terminal, at most every `intervalMs`. */
export class LiveView {
  private drawn = 0;
  private readonly stats = new AgentStats();
  private timer: NodeJS.Timeout | undefined;
  private readonly recent: string[] = [];
  private finished = false;
  private paused = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly inspect: () => AgentNode | undefined,
    private readonly header: () => string,
    private readonly intervalMs = 80,
  ) {}

  event(event: ArborEvent): void {
    if (this.finished) return;
    this.stats.event(event, Date.now());
    const line = describeEvent(event);
    if (line) {
      this.recent.push(line);
      if (this.recent.length > 6) this.recent.shift();
    }
    this.timer ??= setTimeout(() => this.draw(), this.intervalMs);
  }

  /** Stops redrawing while someone is asked a question on the terminal (an approval), and resumes. */
  pause(paused: boolean): void {
    this.paused = paused;
    if (paused)
      this.drawn = 0; // the prompt sits under the last frame: never erase it
    else this.timer ??= setTimeout(() => this.draw(), this.intervalMs);
  }

  /** Draws now and stops the timer (the last frame stays on screen). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draw();
  }

  private draw(): void {
    this.timer = undefined;
    if (this.paused) return;
    const root = this.inspect();
    const ansi = colorOn(this.out);
    const now = Date.now();
    const lines = [
      this.header(),
      ...(root
        ? renderTree(
            root,
            ansi,
            (address) => this.stats.label(address, now),
            (address) => this.stats.writing(address),
          )
        : []),
      "",
      ...this.recent.map((l) => `  ${l}`),
    ];
    // Rows, not lines: a line longer than the terminal is wide wraps and takes more than one.
    this.out.write(`${eraseRows(this.drawn)}${lines.join("\n")}\n`);
    this.drawn = rowsOf(lines, this.out.columns);
  }
}
