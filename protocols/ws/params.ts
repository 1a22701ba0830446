/**
 * Validates a request's params against its method's schema. A failure is a -32602 whose `data`
 * lists every problem with its JSON path (`$.params.timeoutMs`) and what was expected.
 */

import { Either, type ParseResult, Schema } from "effect";
import { problemsOf } from "../../runtime/problems.ts";
import { RpcCode, type RpcFailure, rpcFailure } from "./codes.ts";

type Decoder = (u: unknown) => Either.Either<unknown, ParseResult.ParseError>;
const decoders = new WeakMap<object, Decoder>();

/** One compiled decoder per schema: building it costs more than running it. */
const decoderOf = <A, I>(schema: Schema.Schema<A, I, never>) => {
  let decoder = decoders.get(schema);
  if (decoder === undefined) {
    decoder = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" });
    decoders.set(schema, decoder);
  }
  return decoder as (u: unknown) => Either.Either<A, ParseResult.ParseError>;
};

/**
 * Decodes `params` (absent params mean `{}`) with `schema`; keys the schema does not know are refused,
 * so a misspelt option is an error instead of being silently ignored.
 */
export const decodeParams = <A, I>(
  schema: Schema.Schema<A, I, never>,
  params: unknown,
): Either.Either<A, RpcFailure> => {
  if (Array.isArray(params)) {
    return Either.left(
      rpcFailure(
        RpcCode.invalidParams,
        "invalid_params",
        "user",
        "invalid params: Arbor methods take named params (an object)",
        {
          problems: [{ path: "$.params", message: "expected an object, got an array" }],
        },
      ),
    );
  }
  const decoded = decoderOf(schema)(params ?? {});
  if (Either.isRight(decoded)) return Either.right(decoded.right);
  const problems = problemsOf(decoded.left, { root: "$.params", unknownKey: "unknown parameter" });
  const summary = problems.map((p) => `${p.path}: ${p.message}`).join("; ");
  return Either.left(
    rpcFailure(RpcCode.invalidParams, "invalid_params", "user", `invalid params: ${summary}`, { problems }),
  );
};
