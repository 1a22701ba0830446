/**
 * PII detection and redaction: emails, phone numbers, payment cards (Luhn-checked), IBANs
 * (mod-97-checked), IPv4/IPv6 addresses and secrets (API keys, tokens, private-key blocks).
 * Pure functions: the guardrail in `pii-guardrail.ts` decides when they apply.
 */
import { isIPv6 } from "node:net";

/** The kinds of personal or secret data the detector knows. */
export type PiiKind = "email" | "phone" | "card" | "iban" | "ip" | "secret";

/** Every kind, in the order they are redacted (secrets first, so a key is never half-eaten by another kind). */
export const piiKinds: ReadonlyArray<PiiKind> = ["secret", "email", "iban", "card", "ip", "phone"];

/** The text of a redaction, e.g. `[EMAIL]`. */
export const placeholder = (kind: PiiKind): string => `[${kind.toUpperCase()}]`;

/** Luhn checksum over the digits of `digits`. */
export const luhnValid = (digits: string): boolean => {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
};

/** ISO 13616 check: move the first four characters to the end, letters to numbers, mod 97 must be 1. */
export const ibanValid = (iban: string): boolean => {
  const compact = iban.replace(/\s+/g, "").toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact)) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const chunk = code >= 65 ? String(code - 55) : ch;
    for (const digit of chunk) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
};

/** What a text holds that some detectors need before they can match at all. */
interface Traits {
  readonly at: boolean;
  /** How many digits and colons the text has: a pass needs at least so many to match. */
  readonly digits: number;
  readonly colons: number;
}

/**
 * What every secret the `secret` pattern finds contains (any case), as one plain alternation: far
 * cheaper than the pattern itself, whose lookbehind is tried at every position of the text.
 */
const secretHint =
  /-----begin|sk-|akia|gh[pousr]_|github_pat_|xox[abprs]-|aiza|glpat-|eyj|api[_-]?key|secret|token|passw/i;

const traitsOf = (text: string): Traits => {
  let digits = 0;
  let colons = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 58) colons++;
  }
  return { at: text.includes("@"), digits, colons };
};

interface Detector {
  readonly kind: PiiKind;
  readonly pattern: RegExp;
  /** False when the pattern cannot match a text with these traits (its pass is skipped); absent means it may. */
  readonly mayMatch?: (traits: Traits, text: string) => boolean;
  /** Extra check on a candidate match; absent means every match counts. */
  readonly accept?: (match: string) => boolean;
}

const cardPrefix = /^(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|6(?:011|5|4[4-9]|2))/;

const detectors: ReadonlyArray<Detector> = [
  {
    kind: "secret",
    mayMatch: (_, text) => secretHint.test(text),
    pattern:
      /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})|(?<=\b(?:api[_-]?key|secret|token|password|passwd)\s*[:=]\s*["']?)[^\s"'(),;]{8,}/gi,
  },
  {
    kind: "email",
    mayMatch: (t) => t.at,
    pattern: /(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/g,
  },
  {
    kind: "iban",
    mayMatch: (t) => t.digits >= 2,
    pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g,
    accept: ibanValid,
  },
  {
    kind: "card",
    mayMatch: (t) => t.digits >= 13,
    pattern: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g,
    accept: (match) => {
      const digits = match.replace(/\D/g, "");
      return cardPrefix.test(digits) && luhnValid(digits);
    },
  },
  {
    kind: "ip",
    // IPv4: four numbers; IPv6: at least two colons.
    mayMatch: (t) => t.digits >= 4 || t.colons >= 2,
    pattern:
      /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\d)|(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])/g,
    accept: (match) => match.includes(".") || (isIPv6(match) && /[0-9A-Fa-f]/.test(match)),
  },
  {
    kind: "phone",
    // `accept` wants at least 8 digits.
    mayMatch: (t) => t.digits >= 8,
    pattern: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,6}){1,5}(?![\w-])/g,
    accept: (match) => {
      const digits = match.replace(/\D/g, "").length;
      const international = match.startsWith("+");
      if (/^\d{4}-\d{2}-\d{2}$/.test(match)) return false; // an ISO date
      return international ? digits >= 8 && digits <= 15 : digits >= 10 && digits <= 12;
    },
  },
];

/** What a redaction pass found and the text with every finding replaced by its placeholder. */
export interface PiiRedaction {
  readonly text: string;
  readonly redactions: ReadonlyArray<{ readonly kind: PiiKind; readonly count: number }>;
}

/**
 * Replaces PII of the given kinds with placeholders. `allow` lists substrings that stay as they are
 * (a support address the agent is meant to quote, for example).
 */
export const redactPii = (
  text: string,
  kinds: ReadonlyArray<PiiKind> = piiKinds,
  allow: ReadonlyArray<RegExp> = [],
): PiiRedaction => {
  let current = text;
  const redactions: Array<{ kind: PiiKind; count: number }> = [];
  // Most texts have too few digits, no "@" or no secret's marker: the passes that need them are
  // skipped. A pass only takes characters away (placeholders hold no digit, "@" or ":"), so what
  // the text lacks, it keeps lacking; the secret pass runs first, on the text as given.
  const traits = traitsOf(text);
  for (const detector of detectors) {
    if (!kinds.includes(detector.kind)) continue;
    if (detector.mayMatch !== undefined && !detector.mayMatch(traits, current)) continue;
    let count = 0;
    current = current.replace(detector.pattern, (match) => {
      if (detector.accept && !detector.accept(match)) return match;
      if (allow.some((re) => new RegExp(re.source, re.flags.replace("g", "")).test(match))) return match;
      count++;
      return placeholder(detector.kind);
    });
    if (count > 0) redactions.push({ kind: detector.kind, count });
  }
  return { text: current, redactions };
};

/** The kinds of PII present in a text (for corpora and diagnostics). */
export const detectPii = (text: string): ReadonlySet<PiiKind> =>
  new Set(redactPii(text).redactions.map((r) => r.kind));
