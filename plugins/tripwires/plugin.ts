/**
 * The tripwires plugin: owns the `tripwires` spec section and installs the monitor the agent step
 * reports to. The runtime config's `tripwires` section, when present, applies to every agent and
 * specs may only tighten it; tripwires other plugins register (`registerTripwire`) apply too.
 */
import { Effect, Either } from "effect";
import { PluginError } from "../../runtime/errors.ts";
import { definePlugin, type Plugin } from "../../runtime/plugin.ts";
import { forgetTree, makeTripwireMonitor, makeTripwireState } from "./monitor.ts";
import { makeTripwiresSection, readTripwireConfig } from "./settings.ts";

/** The tripwires plugin value. Fails to load when `config.tripwires` is invalid. */
export const tripwiresPlugin: Plugin = definePlugin({
  name: "tripwires",
  version: "0.1.0",
  setup: (host) =>
    Effect.gen(function* () {
      const configured = readTripwireConfig(host.config.tripwires);
      if (Either.isLeft(configured))
        return yield* new PluginError({
          reason: "setup_failed",
          plugin: "tripwires",
          detail: configured.left.map((p) => `${p.path}: ${p.message}`).join("; "),
        });
      const base = configured.right;
      yield* host.registerSpecSection(makeTripwiresSection(base));
      const state = makeTripwireState();
      // Totals of a stopped tree are dropped, so a long-running runtime does not grow without bound.
      yield* Effect.acquireRelease(
        Effect.sync(() =>
          host.events.listen(
            (event) => {
              if (event.type === "tree.stopped") forgetTree(state, event.tree);
            },
            { types: ["tree.stopped"] },
          ),
        ),
        (stop) => Effect.sync(stop),
      );
      yield* host.installTripwireMonitor((tripwires) =>
        makeTripwireMonitor({
          events: host.events,
          definitions: tripwires.all,
          state,
          ...(base === undefined ? {} : { base }),
        }),
      );
    }),
});
