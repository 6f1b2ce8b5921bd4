/**
 * robots.txt (RFC 9309), as far as a documentation crawler needs it: the
 * group for our user agent, else the `*` group, and its `Allow` /
 * `Disallow` rules, the longest matching rule winning (an `Allow` on a
 * tie), with `*` and `$` patterns.
 */

export interface RobotsRules {
  /** Whether `path` (with its query) may be fetched. */
  allows(path: string): boolean;
}

interface Rule {
  allow: boolean;
  pattern: string;
  regex: RegExp;
}

/** No rules: everything may be fetched (a missing robots.txt, 4xx). */
export const ALLOW_ALL: RobotsRules = { allows: () => true };

/**
 * Parses robots.txt for `agent` (a product token such as `mcp-server`,
 * matched case-insensitively).
 */
export function parseRobots(text: string, agent: string): RobotsRules {
  const groups: { agents: string[]; rules: Rule[] }[] = [];
  let group: { agents: string[]; rules: Rule[] } | undefined;
  let lastWasAgent = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, "").trim();
    const match = /^([A-Za-z-]+)\s*:\s*(.*)$/.exec(line);
    if (!match) continue;
    const key = match[1]!.toLowerCase();
    const value = match[2]!.trim();
    if (key === "user-agent") {
      if (!lastWasAgent || !group) groups.push((group = { agents: [], rules: [] }));
      group.agents.push(value.toLowerCase());
      lastWasAgent = true;
      continue;
    }
    lastWasAgent = false;
    if (!group || (key !== "allow" && key !== "disallow")) continue;
    // An empty Disallow allows everything: it is no rule at all.
    if (value === "") continue;
    group.rules.push({ allow: key === "allow", pattern: value, regex: patternRegex(value) });
  }
  const wanted = agent.toLowerCase();
  const own = groups.filter((g) => g.agents.includes(wanted));
  const chosen = own.length > 0 ? own : groups.filter((g) => g.agents.includes("*"));
  const rules = chosen.flatMap((g) => g.rules);
  if (rules.length === 0) return ALLOW_ALL;
  return {
    allows(path) {
      let best: Rule | undefined;
      for (const rule of rules) {
        if (!rule.regex.test(path)) continue;
        if (!best || rule.pattern.length > best.pattern.length || (rule.pattern.length === best.pattern.length && rule.allow)) best = rule;
      }
      return best?.allow ?? true;
    },
  };
}

/** A robots.txt path pattern as a regular expression anchored at the start: `*` any run, `$` the end. */
function patternRegex(pattern: string): RegExp {
  const anchored = pattern.endsWith("$");
  const core = (anchored ? pattern.slice(0, -1) : pattern).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${core}${anchored ? "$" : ""}`);
}
