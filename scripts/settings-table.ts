// Prints the settings table of the README from the one table the server
// parses, so the documentation cannot drift from the code:
//   bun scripts/settings-table.ts
import { settings, type Setting } from "../src/config/settings.ts";

console.log("| Environment variable | Flag | Default | Meaning |");
console.log("|---|---|---|---|");
for (const setting of Object.values(settings) as Setting<unknown>[]) {
  const fallback = setting.default !== undefined ? `\`${setting.default}\`` : (setting.defaultNote ?? "not set");
  console.log(`| \`${setting.env}\` | \`${setting.flag}\` | ${fallback} | ${setting.description.replace(/\|/g, "\\|")} |`);
}
