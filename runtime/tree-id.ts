/**
 * Tree ids: readable ones (`name`, `name-2`, …) for a single owner, opaque ones for tenants.
 */
import { randomBytes } from "node:crypto";

/** The first free of `name`, `name-2`, `name-3`, … */
export const uniqueId = (name: string, taken: (id: string) => boolean): string => {
  if (!taken(name)) return name;
  for (let n = 2; ; n++) if (!taken(`${name}-${n}`)) return `${name}-${n}`;
};

/**
 * A tenant's tree id: the name and a random suffix, drawn again on the (unlikely) clash, so the id
 * never depends on what other tenants run. The suffix always holds a letter, so it never reads as the
 * counter (`name-2`) that readable ids use.
 */
export const opaqueId = (name: string, taken: (id: string) => boolean): string => {
  const letters = "abcdefghijkmnpqrstuvwxyz";
  for (;;) {
    const bytes = randomBytes(5);
    const id = `${name}-${letters[bytes[0]! % letters.length]}${bytes.subarray(1).toString("hex")}`;
    if (!taken(id)) return id;
  }
};
