/**
 * `workflowsPlugin`: owns the tree spec's `workflow` section, checked against the tree's agents when
 * the spec is validated (unknown steps, cycles, missing agents and early references are refused by
 * path). Running a workflow is `runWorkflow`, `workflow.run` on the wire, or `arbor run`.
 */
import { Effect } from "effect";
import { definePlugin, type Plugin } from "../../runtime/plugin.ts";
import { validateWorkflow } from "./validate.ts";

const rootNameOf = (spec: Readonly<Record<string, unknown>>): string => {
  const root = spec.root as { name?: unknown } | undefined;
  return typeof root?.name === "string" ? root.name : "";
};

export const workflowsPlugin: Plugin = definePlugin({
  name: "workflows",
  version: "0.1.0",
  setup: (host) =>
    host
      .registerSpecExtension({
        name: "workflow",
        treeKeys: ["workflow"],
        check: (spec, agents) =>
          spec.workflow === undefined ? [] : validateWorkflow(spec.workflow, agents, rootNameOf(spec)),
      })
      .pipe(Effect.asVoid),
});
