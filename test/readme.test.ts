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

test("the README's layout tables name every folder of src/, and every file of src/tls, src/storage and src/server", async () => {
  const readme = await Bun.file(join(root, "README.md")).text();
  const development = readme.slice(readme.indexOf("## Development"));
  const folders = new Set([...new Bun.Glob("*/*.ts").scanSync(join(root, "src"))].map((path) => path.split("/")[0]!));
  for (const folder of folders) expect(development).toContain(`| \`${folder}\` |`);
  for (const folder of ["tls", "storage", "server"]) {
    for (const file of new Bun.Glob("*.ts").scanSync(join(root, "src", folder))) expect(`${folder}/${file}: ${development.includes(`\`${file}\``)}`).toBe(`${folder}/${file}: true`);
  }
  expect(development).toContain("Renewal is decided in `src/tls/maintain.ts`");
});
