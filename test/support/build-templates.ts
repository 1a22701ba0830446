/**
 * Makes the PGlite test templates (see pglite-template.ts); the global setup runs it in a child
 * process (`node --import tsx`) so tests that need no database run meanwhile.
 */
import { buildTemplates } from "./pglite-template.ts";

buildTemplates().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
