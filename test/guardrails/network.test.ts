/**
 * Every text that leaves for a network provider passes the guardrails: the task, and also the system
 * prompt built from `role` and `instructions`, and tool results sent back to the model. Checked
 * against a local server speaking the OpenAI wire format, which records every request body.
 */

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { guardrailsPlugin } from "../../plugins/guardrails/plugin.ts";
import { providersPlugin } from "../../plugins/providers/plugin.ts";
import { makeToolsPlugin } from "../../plugins/tools/plugin.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import type { ArborEvent } from "../../runtime/events.ts";
import { useServers } from "../providers/harness.ts";
import { openaiCompletion } from "../providers/wire-server.ts";

const serve = useServers();
const secretKey = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD";

const completion = (content: string | null, toolCalls?: unknown) =>
  openaiCompletion(content, toolCalls ? { toolCalls } : {});

describe("texts sent to a network provider", () => {
  it("redact PII in the system prompt and in tool results, not only in the task", async () => {
    const root = mkdtempSync(join(tmpdir(), "arbor-net-"));
    writeFileSync(join(root, "contacts.txt"), "Write to jane.doe@example.com or call +1 415 555 0100.");
    const s = await serve((_body, i) =>
      i === 0
        ? {
            json: completion(null, [
              {
                id: "call_1",
                type: "function",
                function: { name: "read_file", arguments: '{"path":"contacts.txt"}' },
              },
            ]),
          }
        : { json: completion("done") },
    );
    const events: Array<ArborEvent> = [];
    const program = Effect.scoped(
      Effect.gen(function* () {
        const system = yield* makeAgentSystem({
          plugins: [
            providersPlugin({
              env: { OPENAI_API_KEY: "sk-test-0000NETWORK", OPENAI_BASE_URL: `${s.url}/v1` },
            }),
            guardrailsPlugin,
            makeToolsPlugin({ root, agentTools: false }),
          ],
        });
        system.events.listen((event) => events.push(event));
        const tree = yield* system.spawnTree({
          name: "net",
          root: {
            name: "root",
            kind: "child",
            role: "assistant of bob@example.org",
            instructions: `Call +44 20 7946 0958 if stuck; the deploy key is ${secretKey}.`,
            model: { provider: "openai", model: "gpt-4o-mini" },
            tools: { allow: ["read_file"] },
          },
        });
        return yield* system.ask(tree.root, "Who do I write to?");
      }),
    );
    expect((await Effect.runPromise(program)).output).toBe("done");
    const sent = JSON.stringify(s.requests.map((r) => r.body));
    for (const secret of ["bob@example.org", "7946 0958", secretKey, "jane.doe@example.com", "555 0100"])
      expect(sent).not.toContain(secret);
    // What is left of the texts still reaches the model.
    expect(sent).toContain("the deploy key is");
    expect(sent).toContain("Write to");
    const redacted = events.filter((e) => e.type === "guardrail.redacted");
    expect(redacted.map((e) => (e as { stage: string }).stage)).toEqual(
      expect.arrayContaining(["input", "tool"]),
    );
  });
});
