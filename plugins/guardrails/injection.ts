/**
 * Prompt-injection heuristics: the "ignore previous instructions" family, role-play jailbreaks,
 * requests to reveal the system prompt, and instructions hidden in tool output (HTML comments,
 * zero-width characters, fake chat-template markers). Heuristics, not a classifier: they catch
 * the common phrasings cheaply and say which rule matched.
 */

/** One heuristic rule. `toolOutputOnly` rules apply only to text returned by a tool. */
interface Rule {
  readonly name: string;
  readonly pattern: RegExp;
  readonly toolOutputOnly?: boolean;
}

const rules: ReadonlyArray<Rule> = [
  {
    name: "ignore-instructions",
    pattern:
      /\b(?:ignore|disregard|forget|override|bypass|skip)\b[\w\s,'-]{0,30}?\b(?:previous|prior|above|earlier|preceding|all|any|your|the|system|original)\b[\w\s,'-]{0,20}?\b(?:instructions?|prompts?|rules|directions|guidelines|directives|context|guardrails)\b/i,
  },
  {
    name: "new-instructions",
    pattern: /\b(?:new|updated|real|actual)\s+(?:system\s+)?instructions?\s*(?::|are\b|follow\b)/i,
  },
  {
    name: "role-play-jailbreak",
    pattern:
      /\b(?:you are now|from now on,? you are|pretend (?:to be|you are|you're)|act as|roleplay as|role-play as)\b[^.\n]{0,60}\b(?:DAN|jailbr(?:oken|eak)|unrestricted|unfiltered|uncensored|no (?:rules|restrictions|limits|filters)|without (?:any )?(?:rules|restrictions|limits|filters)|evil|developer mode)\b/i,
  },
  {
    name: "jailbreak-mode",
    pattern: /\b(?:do anything now|developer mode (?:enabled|on)|jailbreak mode)\b/i,
  },
  {
    name: "reveal-system-prompt",
    pattern:
      /\b(?:reveal|print|show|repeat|output|leak|tell me)\b[\w\s]{0,20}\b(?:system prompt|hidden (?:instructions|prompt)|initial instructions|your instructions)\b/i,
  },
  {
    name: "hidden-comment-instruction",
    pattern:
      /<!--[\s\S]{0,400}?\b(?:assistant|AI|model|agent|instructions?|ignore|must|you should)\b[\s\S]{0,400}?-->/i,
    toolOutputOnly: true,
  },
  {
    name: "chat-template-marker",
    pattern: /<\|im_start\|>|<\|system\|>|\[\/?INST\]|<<SYS>>|^\s*(?:system|assistant)\s*:/im,
    toolOutputOnly: true,
  },
  { name: "zero-width-text", pattern: /[\u200B-\u200D\u2060\uFEFF]{2,}/, toolOutputOnly: true },
  {
    name: "addressed-to-assistant",
    pattern:
      /\b(?:attention|note to|important(?: note)? for|instructions? for) (?:the )?(?:AI|assistant|agent|language model|LLM)\b/i,
    toolOutputOnly: true,
  },
];

/** The name of the first rule that matches, or `undefined` when the text looks clean. */
export const detectInjection = (text: string, fromTool: boolean): string | undefined =>
  rules.find((rule) => (fromTool || !rule.toolOutputOnly) && rule.pattern.test(text))?.name;
