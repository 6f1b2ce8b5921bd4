import { expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "..");

test("the README's settings table is the one the server parses", async () => {
  const readme = await Bun.file(join(root, "README.md")).text();
  const table = Bun.spawnSync([process.execPath, join(root, "scripts/settings-table.ts")]).stdout.toString().trim();
  expect(readme).toContain(table);
});

test("the README's two commands are the package scripts CI runs", async () => {
  const readme = await Bun.file(join(root, "README.md")).text();
  const ci = await Bun.file(join(root, ".ci/run")).text();
  expect(readme).toContain("npm install && npm run dev");
  expect(readme).toContain("npm install && npm test");
  expect(ci).toContain("\nnpm test 2>&1");
});
