/**
 * One client connection: turns each text frame into responses. Checks run in frame order and
 * synchronously (rate, method, params, in-flight), then the accepted requests of a frame run
 * concurrently and their answers go back together (one array for a batch). Nothing a client sends
 * can throw out of here: the worst a bad frame gets is an error response.
 */
import { Deferred, Effect, Either } from "effect";
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
  /** Completed when shutdown's grace period is over: requests still running fail with `shutting_down`. */
  readonly abort: Deferred.Deferred<void>;
  readonly isShuttingDown: () => boolean;
}

/** Handles frames for one connection; returns the text to send back (or nothing). */
export interface Connection {
  readonly handle: (text: string) => Effect.Effect<string | undefined>;
}

const failureResponse = (id: RpcRequest["id"], failure: RpcFailure): RpcResponse => {
  const error = failure.toJson();
  return errorResponse(id ?? null, error.code, error.message, error.data);
};

/** Makes the frame handler of one connection. */
export const makeConnection = (deps: ConnectionDeps, caller: CallerContext): Connection => {
  const rate = makeRateLimiter(deps.limits.ratePerSecond, deps.limits.rateBurst);
  const inFlight = makeInFlight(deps.limits.maxInFlight);
  const shuttingDown = rpcFailure(
    RpcCode.shuttingDown,
    "shutting_down",
    "arbor",
    "the server is shutting down; retry against another instance or after restart",
  );

  /** Synchronous admission: an immediate answer, or the effect to run (with its in-flight slot taken). */
  const admit = (request: RpcRequest): Either.Either<Effect.Effect<RpcResponse>, RpcFailure> => {
    deps.counters.requests += 1;
    if (deps.isShuttingDown()) return Either.left(shuttingDown);
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
    const run = def.run(params.right, caller).pipe(
      Effect.catchAllDefect(() =>
        Effect.fail(rpcFailure(RpcCode.internalError, "internal", "arbor", "internal error while answering")),
      ),
      Effect.raceFirst(Effect.zipRight(Deferred.await(deps.abort), Effect.fail(shuttingDown))),
      Effect.match({
        onSuccess: (result) => resultResponse(request.id ?? null, result),
        onFailure: (failure) => failureResponse(request.id, failure),
      }),
      Effect.ensuring(Effect.sync(inFlight.release)),
    );
    return Either.right(run);
  };

  const record = (response: RpcResponse) => {
    if ("error" in response) countError(deps.counters, response.error.code);
  };

  return {
    handle: (text) =>
      Effect.suspend(() => {
        const frame = parseFrame(text, deps.limits.maxBatch);
        if (frame.kind === "error") {
          record(frame.response);
          return Effect.succeed(JSON.stringify(frame.response));
        }
        const slots: Array<Effect.Effect<RpcResponse | undefined>> = frame.entries.map((entry) => {
          if (entry.kind === "invalid") return Effect.succeed(entry.response);
          const { request } = entry;
          const admitted = admit(request);
          const answer = Either.isLeft(admitted)
            ? Effect.succeed(failureResponse(request.id, admitted.left))
            : admitted.right;
          return request.isNotification ? Effect.asVoid(answer).pipe(Effect.as(undefined)) : answer;
        });
        return Effect.map(Effect.all(slots, { concurrency: "unbounded" }), (answers) => {
          const responses = answers.filter((a): a is RpcResponse => a !== undefined);
          for (const response of responses) record(response);
          if (responses.length === 0) return undefined;
          return JSON.stringify(frame.batch ? responses : responses[0]);
        });
      }),
  };
};
