// Prints the settings table of the README from the one table the server
// parses, so the documentation cannot drift from the code:
//   bun scripts/settings-table.ts
import { settingsTable } from "../src/config/settings-table.ts";

console.log(settingsTable());
