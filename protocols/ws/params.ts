/**
 * Validates a request's params against its method's schema. A failure is a -32602 whose `data`
 * lists every problem with its JSON path (`$.params.timeoutMs`) and what was expected.
 */
import { Either, ParseResult, Schema } from "effect";
import { RpcCode, type RpcFailure, rpcFailure } from "./codes.ts";

const pathOf = (path: ReadonlyArray<PropertyKey>): string =>
  `$.params${path.map((key) => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)).join("")}`;

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
  const all = ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map((issue) => ({
    path: pathOf(issue.path),
    message:
      issue._tag === "Unexpected" || issue.message.startsWith("Expected never")
        ? "unknown parameter"
        : issue.message,
  }));
  // An optional field reports its value twice (the refinement, then "Expected undefined"); keep the useful one.
  const problems = all.filter(
    (p) =>
      !/^Expected undefined, actual/.test(p.message) || all.filter((q) => q.path === p.path).length === 1,
  );
  const summary = problems.map((p) => `${p.path}: ${p.message}`).join("; ");
  return Either.left(
    rpcFailure(RpcCode.invalidParams, "invalid_params", "user", `invalid params: ${summary}`, { problems }),
  );
};
