/**
 * One client connection: turns each text frame into responses. Checks run in frame order and
 * synchronously (rate, method, params, in-flight); each accepted request then runs as its own
 * fiber, and the answers of a batch are gathered in plain code and sent together as one array.
 * Nothing a client sends can throw out of here: the worst a bad frame gets is an error response.
 *
 * Gotcha: requests are forked one by one rather than composed with `Effect.all({ concurrency })`
 * or raced against a shutdown signal: joining fibers inside one effect costs a scheduler round
 * (hundreds of µs), which would dominate a round trip. Shutdown interrupts the request fibers
 * instead, and an interrupted request answers `shutting_down`.
 */
import { Cause, Effect, Either, Exit, Fiber, Option } from "effect";
import { RpcCode, type RpcFailure, rpcFailure } from "./codes.ts";
import { errorResponse, parseFrame, type RpcRequest, type RpcResponse, resultResponse } from "./jsonrpc.ts";
import { makeInFlight, makeRateLimiter } from "./limits.ts";
import type { CallerContext, MethodDef } from "./methods.ts";
import { countError, type ServerCounters } from "./metrics.ts";
import type { ServerLimits } from "./options.ts";
import { decodeParams } from "./params.ts";

/** What a connection needs from its server. */
export interface ConnectionDeps {
  readonly methods: ReadonlyMap<string, MethodDef>;
  readonly limits: ServerLimits;
  readonly counters: ServerCounters;
  /** Current time in ms (Effect's Clock). */
  readonly now: () => number;
  /** Runs a request's fiber where shutdown can find (and, after the grace period, interrupt) it. */
  readonly fork: (effect: Effect.Effect<unknown, RpcFailure>) => Fiber.RuntimeFiber<unknown, RpcFailure>;
  readonly isShuttingDown: () => boolean;
}

/** Handles frames for one connection. `reply` gets the text to send back, once per frame that needs one. */
export interface Connection {
  readonly handle: (text: string, reply: (text: string) => void) => void;
  /** The client went away: interrupts its requests still running (nobody is left to answer). */
  readonly closed: () => void;
}

const failureResponse = (id: RpcRequest["id"], failure: RpcFailure): RpcResponse => {
  const error = failure.toJson();
  return errorResponse(id ?? null, error.code, error.message, error.data);
};

/** The answer to a request interrupted by shutdown. */
export const shuttingDownFailure = rpcFailure(
  RpcCode.shuttingDown,
  "shutting_down",
  "arbor",
  "the server is shutting down; retry against another instance or after restart",
);

/** Makes the frame handler of one connection. */
export const makeConnection = (deps: ConnectionDeps, caller: CallerContext): Connection => {
  const rate = makeRateLimiter(deps.limits.ratePerSecond, deps.limits.rateBurst);
  const inFlight = makeInFlight(deps.limits.maxInFlight);
  const running = new Set<Fiber.RuntimeFiber<unknown, RpcFailure>>();

  /** Synchronous admission: an immediate failure, or the method and decoded params (in-flight slot taken). */
  const admit = (request: RpcRequest): Either.Either<{ def: MethodDef; params: unknown }, RpcFailure> => {
    deps.counters.requests += 1;
    if (deps.isShuttingDown()) return Either.left(shuttingDownFailure);
    const now = deps.now();
    if (!rate.take(now)) {
      const retryAfterMs = rate.retryAfterMs(now);
      return Either.left(
        rpcFailure(
          RpcCode.rateLimited,
          "rate_limited",
          "user",
          `rate limit exceeded; retry in ${retryAfterMs} ms`,
          {
            retryAfterMs,
          },
        ),
      );
    }
    const def = deps.methods.get(request.method);
    if (def === undefined) {
      return Either.left(
        rpcFailure(RpcCode.methodNotFound, "method_not_found", "user", `unknown method: ${request.method}`, {
          method: request.method,
        }),
      );
    }
    const params = decodeParams(def.params, request.params);
    if (Either.isLeft(params)) return Either.left(params.left);
    if (!inFlight.tryAcquire()) {
      return Either.left(
        rpcFailure(
          RpcCode.overloaded,
          "too_many_in_flight",
          "user",
          `too many requests in flight on this connection (limit ${deps.limits.maxInFlight}); wait for answers first`,
          { limit: deps.limits.maxInFlight },
        ),
      );
    }
    return Either.right({ def, params: params.right });
  };

  /** Runs an admitted request in its own fiber; `done` is called exactly once with its response. */
  const run = (
    request: RpcRequest,
    def: MethodDef,
    params: unknown,
    done: (response: RpcResponse) => void,
  ) => {
    // The exit is turned into a response by a plain observer rather than by effect combinators
    // (match, catchAllDefect, onInterrupt): on this path every microsecond shows.
    const fiber = deps.fork(def.run(params, caller));
    running.add(fiber);
    fiber.addObserver((exit) => {
      running.delete(fiber);
      inFlight.release();
      if (Exit.isSuccess(exit)) return done(resultResponse(request.id ?? null, exit.value));
      const failure = Cause.failureOption(exit.cause);
      if (Option.isSome(failure)) return done(failureResponse(request.id, failure.value));
      done(
        failureResponse(
          request.id,
          Cause.isInterruptedOnly(exit.cause)
            ? shuttingDownFailure
            : rpcFailure(RpcCode.internalError, "internal", "arbor", "internal error while answering"),
        ),
      );
    });
  };

  const record = (response: RpcResponse) => {
    if ("error" in response) countError(deps.counters, response.error.code);
  };

  return {
    closed: () => {
      for (const fiber of running) Effect.runFork(Fiber.interrupt(fiber));
      running.clear();
    },
    handle: (text, reply) => {
      const frame = parseFrame(text, deps.limits.maxBatch, deps.limits.maxNesting);
      if (frame.kind === "error") {
        record(frame.response);
        reply(JSON.stringify(frame.response));
        return;
      }
      const responses: Array<RpcResponse | undefined> = new Array(frame.entries.length);
      let outstanding = frame.entries.length;
      const settle = (index: number, response: RpcResponse | undefined) => {
        responses[index] = response;
        outstanding -= 1;
        if (outstanding > 0) return;
        const answers = responses.filter((r): r is RpcResponse => r !== undefined);
        for (const r of answers) record(r);
        if (answers.length === 0) return;
        reply(JSON.stringify(frame.batch ? answers : answers[0]));
      };
      for (const [index, entry] of frame.entries.entries()) {
        if (entry.kind === "invalid") {
          settle(index, entry.response);
          continue;
        }
        const { request } = entry;
        const keep = (response: RpcResponse) => settle(index, request.isNotification ? undefined : response);
        const admitted = admit(request);
        if (Either.isLeft(admitted)) keep(failureResponse(request.id, admitted.left));
        else run(request, admitted.right.def, admitted.right.params, keep);
      }
    },
  };
};
