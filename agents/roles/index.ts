/** Roles and prompt templates: a catalog of roles as data, applied to specs by `rolesPlugin`. */
export {
  loadRoles,
  type PromptStyle,
  promptStyles,
  type RoleDefinition,
  type RoleProblem,
  renderPrompt,
} from "./catalog.ts";
export { expandRoles } from "./expand.ts";
export { builtinRolesFolder, makeRolesPlugin, rolesPlugin } from "./plugin.ts";
