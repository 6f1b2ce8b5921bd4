import { settings, type Setting } from "./settings.ts";

/**
 * Every setting as a Markdown table. The README and the embedded guide both
 * show this output, so the documentation cannot drift from the parser.
 */
export function settingsTable(): string {
  const rows = ["| Environment variable | Flag | Default | Meaning |", "|---|---|---|---|"];
  for (const setting of Object.values(settings) as Setting<unknown>[]) {
    const fallback = setting.default !== undefined ? `\`${setting.default}\`` : (setting.defaultNote ?? "not set");
    rows.push(`| \`${setting.env}\` | \`${setting.flag}\` | ${fallback} | ${setting.description.replace(/\|/g, "\\|")} |`);
  }
  return rows.join("\n");
}
