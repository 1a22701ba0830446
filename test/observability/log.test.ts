/**
 * What `arbor serve` logs: the level from env or config (a bad one named by where it came from),
 * and the scrubbing that keeps keys, tokens and email addresses out of every line.
 */
import { Either } from "effect";
import { describe, expect, it } from "vitest";
import {
  eventFields,
  resolveLogLevel,
  scrubText,
  secretsFromConfig,
  secretsFromEnv,
} from "../../protocols/cli/log.ts";
import type { ArborEvent } from "../../runtime/events.ts";

describe("log level", () => {
  it("takes ARBOR_LOG_LEVEL over the config's log.level, and info by default", () => {
    expect(resolveLogLevel({}, {})).toEqual(Either.right("info"));
    expect(resolveLogLevel({ log: { level: "warn" } }, {})).toEqual(Either.right("warn"));
    expect(resolveLogLevel({ log: { level: "warn" } }, { ARBOR_LOG_LEVEL: "DEBUG" })).toEqual(
      Either.right("debug"),
    );
  });

  it("says which setting holds a level that does not exist", () => {
    expect(resolveLogLevel({}, { ARBOR_LOG_LEVEL: "loud" })).toEqual(
      Either.left("ARBOR_LOG_LEVEL=loud is not a level (fatal, error, warn, info, debug, trace, silent)"),
    );
    expect(resolveLogLevel({ log: { level: 3 } }, {})).toMatchObject({
      left: expect.stringContaining("$.log.level"),
    });
  });
});

describe("scrubbing", () => {
  it("finds the secrets of the environment and of the config file, not the tenant names", () => {
    expect(
      secretsFromEnv({
        OPENAI_API_KEY: "sk-env-0001-abcdef",
        GROQ_API_KEYS: "gsk-a-00000001,gsk-b-00000002",
        HOME: "/home/ada",
      }),
    ).toEqual(["sk-env-0001-abcdef", "gsk-a-00000001", "gsk-b-00000002"]);
    expect(
      secretsFromConfig({
        providers: { anthropic: { apiKey: "ant-file-key-0003", baseUrl: "https://example.test" } },
        server: { tokens: [{ token: "tenant-token-0004", tenant: "acme-corporation" }] },
      }),
    ).toEqual(["ant-file-key-0003", "tenant-token-0004"]);
  });

  it("masks configured secrets, key-shaped strings and emails, and keeps trace ids", () => {
    const text =
      "failed for ada@example.org with plain-secret-9 and sk-proj-AbCdEf0123456789 in trace 4bf92f3577b34da6a3ce929d0e0e4736";
    expect(scrubText(text, ["plain-secret-9"])).toBe(
      "failed for [email] with [secret] and [secret] in trace 4bf92f3577b34da6a3ce929d0e0e4736",
    );
  });

  it("keeps an event's figures and leaves out what people and models wrote", () => {
    const replied: ArborEvent = {
      type: "agent.replied",
      tree: "t",
      address: "/t/a",
      id: "ag_1",
      time: 0,
      requestId: "rq_1",
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      output: "the reply, with ada@example.org",
    };
    expect(eventFields(replied, [])).toEqual({
      event: "agent.replied",
      agentId: "ag_1",
      tree: "t",
      address: "/t/a",
      requestId: "rq_1",
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    });
  });
});
