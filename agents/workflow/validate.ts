/**
 * Checks a workflow against its tree when the spec is validated: the shape, unique step ids, every
 * `dependsOn` and template reference naming a step that runs before, no cycle, every agent existing,
 * approval steps holding only what an approval takes.
 * Each problem is located by JSON path (`$.workflow.steps[2].dependsOn[0]`).
 */
import { Either, Schema } from "effect";
import type { Problem } from "../../runtime/errors.ts";
import { problemsOf } from "../../runtime/problems.ts";
import { didYouMean } from "../../runtime/suggest.ts";
import { type StepSpec, WorkflowSpec } from "./schema.ts";
import { referencesOf } from "./template.ts";

const decode = Schema.decodeUnknownEither(WorkflowSpec, { errors: "all", onExcessProperty: "error" });

/** Every step each step waits for, directly or through others (cycles must be ruled out first). */
export const upstreamOf = (steps: ReadonlyArray<StepSpec>): ReadonlyMap<string, ReadonlySet<string>> => {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const memo = new Map<string, Set<string>>();
  const visit = (id: string): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const all = new Set<string>();
    memo.set(id, all);
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      all.add(dep);
      for (const up of visit(dep)) all.add(up);
    }
    return all;
  };
  for (const s of steps) visit(s.id);
  return memo;
};

/** The first cycle through `dependsOn`, as the step ids along it, or `undefined`. */
const findCycle = (steps: ReadonlyArray<StepSpec>): ReadonlyArray<string> | undefined => {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const state = new Map<string, "active" | "done">();
  const trail: string[] = [];
  const visit = (id: string): ReadonlyArray<string> | undefined => {
    if (state.get(id) === "done" || !byId.has(id)) return undefined;
    if (state.get(id) === "active") return [...trail.slice(trail.indexOf(id)), id];
    state.set(id, "active");
    trail.push(id);
    for (const dep of byId.get(id)!.dependsOn ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    trail.pop();
    state.set(id, "done");
    return undefined;
  };
  for (const s of steps) {
    const cycle = visit(s.id);
    if (cycle) return cycle;
  }
  return undefined;
};

/**
 * The problems of `raw` as the `workflow` of a tree whose agents are `agents` (paths below the root,
 * `""` for the root) and whose root is named `rootName`.
 */
export const validateWorkflow = (
  raw: unknown,
  agents: ReadonlySet<string>,
  rootName: string,
  path = "$.workflow",
): ReadonlyArray<Problem> =>
  Either.match(checkWorkflow(raw, agents, rootName, path), {
    onLeft: (problems) => problems,
    onRight: () => [],
  });

/** `raw` checked as a workflow of that tree: the typed workflow, or its problems by path. */
export const checkWorkflow = (
  raw: unknown,
  agents: ReadonlySet<string>,
  rootName: string,
  path = "$.workflow",
): Either.Either<WorkflowSpec, ReadonlyArray<Problem>> => {
  const decoded = decode(raw);
  if (Either.isLeft(decoded))
    return Either.left(problemsOf(decoded.left, { root: path, schema: WorkflowSpec }));
  const problems = workflowProblems(decoded.right, agents, rootName, path);
  return problems.length > 0 ? Either.left(problems) : Either.right(decoded.right);
};

/** What an approval step may not have: it asks a person, not an agent, once. */
const notForApproval = ["agent", "input", "retry", "timeoutMs", "plan"] as const;

const approvalStepProblems = (step: StepSpec, at: string): ReadonlyArray<Problem> =>
  notForApproval
    .filter((key) => step[key] !== undefined)
    .map((key) => ({
      path: `${at}.${key}`,
      message: `an approval step waits for a person, so it takes no ${key}${key === "timeoutMs" ? " (approvals.timeoutMs in the config bounds the wait)" : ""}`,
    }));

const workflowProblems = (
  workflow: WorkflowSpec,
  agents: ReadonlySet<string>,
  rootName: string,
  path: string,
): ReadonlyArray<Problem> => {
  const { steps, output } = workflow;
  const problems: Problem[] = [];
  const ids = steps.map((s) => s.id);
  const firstAt = new Map<string, number>();
  steps.forEach((step, i) => {
    const at = `${path}.steps[${i}]`;
    const seen = firstAt.get(step.id);
    if (seen !== undefined)
      problems.push({ path: `${at}.id`, message: `duplicate step id "${step.id}" (also steps[${seen}])` });
    else firstAt.set(step.id, i);
    if (step.approval !== undefined) problems.push(...approvalStepProblems(step, at));
    else if (step.agent === undefined)
      problems.push({
        path: `${at}.agent`,
        message: 'a step names the agent it asks (or waits for a person: approval: { prompt: "…" })',
      });
    else if (step.agent !== rootName && !agents.has(step.agent))
      problems.push({
        path: `${at}.agent`,
        message: `no agent "${step.agent}" in this tree${didYouMean(step.agent, [rootName, ...[...agents].filter((a) => a !== "")]) || ` (agents: ${[rootName, ...[...agents].filter((a) => a !== "")].join(", ")})`}`,
      });
    (step.dependsOn ?? []).forEach((dep, j) => {
      if (!firstAt.has(dep) && !ids.includes(dep))
        problems.push({
          path: `${at}.dependsOn[${j}]`,
          message: `unknown step "${dep}"${didYouMean(dep, ids)}`,
        });
      if (dep === step.id)
        problems.push({ path: `${at}.dependsOn[${j}]`, message: "a step cannot depend on itself" });
    });
    const when = step.when;
    if (when !== undefined) {
      const tests = ["contains", "notContains", "equals", "matches"].filter(
        (k) => when[k as keyof typeof when] !== undefined,
      );
      if (tests.length !== 1)
        problems.push({
          path: `${at}.when`,
          message: "give exactly one of contains, notContains, equals, matches",
        });
      if (when.matches !== undefined) {
        try {
          new RegExp(when.matches);
        } catch (error) {
          problems.push({
            path: `${at}.when.matches`,
            message: `not a regular expression: ${(error as Error).message}`,
          });
        }
      }
    }
  });
  if (problems.length > 0) return problems;

  const cycle = findCycle(steps);
  if (cycle) {
    const i = ids.indexOf(cycle[0]!);
    return [{ path: `${path}.steps[${i}].dependsOn`, message: `cycle: ${cycle.join(" → ")}` }];
  }
  const upstream = upstreamOf(steps);
  const checkTemplate = (template: string, at: string, before: ReadonlySet<string> | undefined) => {
    for (const { text, ref } of referencesOf(template)) {
      if (ref === undefined)
        problems.push({
          path: at,
          message: `{{${text}}} names nothing: use {{input}} or {{steps.<id>.output}}`,
        });
      else if (ref.kind === "step" && !ids.includes(ref.step))
        problems.push({
          path: at,
          message: `{{${text}}}: unknown step "${ref.step}"${didYouMean(ref.step, ids)}`,
        });
      else if (ref.kind === "step" && before !== undefined && !before.has(ref.step))
        problems.push({
          path: at,
          message: `{{${text}}} is not ready when this step runs: add "${ref.step}" to its dependsOn`,
        });
    }
  };
  steps.forEach((step, i) => {
    const at = `${path}.steps[${i}]`;
    const before = upstream.get(step.id)!;
    if (step.approval !== undefined) checkTemplate(step.approval.prompt, `${at}.approval.prompt`, before);
    else checkTemplate(step.input ?? "{{input}}", `${at}.input`, before);
    if (step.when !== undefined && !before.has(step.when.step))
      problems.push({
        path: `${at}.when.step`,
        message:
          before.size === 0 || ids.includes(step.when.step)
            ? `"${step.when.step}" does not run before this step: add it to dependsOn`
            : `unknown step "${step.when.step}"`,
      });
  });
  if (output !== undefined) checkTemplate(output, `${path}.output`, undefined);
  return problems;
};
