import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { settings } from "../../src/config/settings.ts";

// scripts/install.sh against a staging --root in a temp folder. It never
// builds the server: a tiny shell script stands in for ./mcp-server.

const repo = join(import.meta.dir, "../..");
const script = join(repo, "scripts/install.sh");
const unitSource = readFileSync(join(repo, "scripts/mcp-server.service"), "utf8");
const envSource = readFileSync(join(repo, "scripts/env.example"), "utf8");

const scratch = mkdtempSync(join(tmpdir(), "mcp-install-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// A fake useradd first on PATH: it only leaves a mark, so a staging install
// that tried to create the user would show it.
const fakeBin = join(scratch, "fake-bin");
const useraddMark = join(scratch, "useradd-called");
mkdirSync(fakeBin);
writeFileSync(join(fakeBin, "useradd"), `#!/bin/sh\necho "$@" > '${useraddMark}'\n`, { mode: 0o755 });

// The stand-in binary, deliberately not executable: the installer sets 0755.
const standIn = join(scratch, "mcp-server-stand-in");
writeFileSync(standIn, "#!/bin/sh\necho stand-in\n");
chmodSync(standIn, 0o600);

let roots = 0;
const freshRoot = () => join(scratch, `root-${++roots}`);

function install(args: string[], cwd = scratch) {
  const result = Bun.spawnSync(["sh", script, ...args], {
    cwd,
    env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

const mode = (path: string) => statSync(path).mode & 0o777;

test("installs binary, unit and env under --root with the right modes, and no user", () => {
  const root = freshRoot();
  const result = install(["--root", root, "--binary", standIn]);
  expect(result.stderr).toBe("");
  expect(result.exitCode).toBe(0);

  const binary = join(root, "usr/local/bin/mcp-server");
  const unit = join(root, "etc/systemd/system/mcp-server.service");
  const env = join(root, "etc/mcp-server/env");
  expect(mode(binary)).toBe(0o755);
  expect(mode(unit)).toBe(0o644);
  expect(mode(env)).toBe(0o600);
  expect(readFileSync(binary, "utf8")).toBe(readFileSync(standIn, "utf8"));
  // Default prefix: the unit is installed as written.
  expect(readFileSync(unit, "utf8")).toBe(unitSource);
  expect(readFileSync(env, "utf8")).toBe(envSource);
  // The kernel setting that lets certificate swaps move queued connections to the new listener.
  const sysctl = join(root, "etc/sysctl.d/99-mcp-server.conf");
  expect(mode(sysctl)).toBe(0o644);
  expect(readFileSync(sysctl, "utf8")).toMatch(/^net\.ipv4\.tcp_migrate_req = 1$/m);
  // No temp files left beside them.
  for (const dir of ["usr/local/bin", "etc/systemd/system", "etc/mcp-server", "etc/sysctl.d"]) {
    expect(readdirSync(join(root, dir)).filter((name) => name.startsWith("."))).toEqual([]);
  }

  expect(existsSync(useraddMark)).toBe(false);
  expect(result.stdout).toContain("systemctl daemon-reload && systemctl enable --now mcp-server");
  expect(result.stdout).toContain("journalctl -u mcp-server -f");
});

test("--prefix rewrites ExecStart and nothing else", () => {
  const root = freshRoot();
  const result = install(["--root", root, "--prefix", "/opt/mcp", "--binary", standIn]);
  expect(result.exitCode).toBe(0);
  expect(mode(join(root, "opt/mcp/bin/mcp-server"))).toBe(0o755);
  expect(existsSync(join(root, "usr/local/bin/mcp-server"))).toBe(false);

  const unit = readFileSync(join(root, "etc/systemd/system/mcp-server.service"), "utf8");
  expect(unit).toMatch(/^ExecStart=\/opt\/mcp\/bin\/mcp-server$/m);
  expect(unit).not.toContain("/usr/local/bin/mcp-server");
  expect(unit).toBe(unitSource.replace("ExecStart=/usr/local/bin/mcp-server", "ExecStart=/opt/mcp/bin/mcp-server"));
});

test("an existing env file is kept as it is; binary and unit are replaced", () => {
  const root = freshRoot();
  const env = join(root, "etc/mcp-server/env");
  mkdirSync(join(root, "etc/mcp-server"), { recursive: true });
  writeFileSync(env, "MCP_DOMAINS=mine.example.org\n", { mode: 0o640 });
  chmodSync(env, 0o640);
  mkdirSync(join(root, "usr/local/bin"), { recursive: true });
  writeFileSync(join(root, "usr/local/bin/mcp-server"), "old binary\n", { mode: 0o755 });

  const result = install(["--root", root, "--binary", standIn]);
  expect(result.exitCode).toBe(0);
  expect(readFileSync(env, "utf8")).toBe("MCP_DOMAINS=mine.example.org\n");
  expect(mode(env)).toBe(0o640);
  expect(result.stdout).toContain("kept the existing");
  expect(result.stdout).toContain("curl -v https://mine.example.org/healthz");
  expect(readFileSync(join(root, "usr/local/bin/mcp-server"), "utf8")).toBe(readFileSync(standIn, "utf8"));
});

test("a missing binary fails with one clear line and writes nothing", () => {
  const root = freshRoot();
  // Default --binary is ./mcp-server: run from a folder without one.
  const empty = join(scratch, "no-build");
  mkdirSync(empty);
  const result = install(["--root", root], empty);
  expect(result.exitCode).not.toBe(0);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expect(result.stderr).toContain("run npm run build first");
  expect(existsSync(root)).toBe(false);

  const named = install(["--root", root, "--binary", join(scratch, "nope")]);
  expect(named.exitCode).not.toBe(0);
  expect(named.stderr).toContain("run npm run build first");
});

test("bad options are one-line errors; --help prints the options", () => {
  for (const args of [["--bogus"], ["--root"], ["--prefix", "relative/dir", "--binary", standIn]]) {
    const result = install(args);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toStartWith("install.sh: error: ");
  }
  const help = install(["--help"]);
  expect(help.exitCode).toBe(0);
  for (const option of ["--prefix", "--root", "--binary", "--help"]) expect(help.stdout).toContain(option);
});

test("env.example names every setting the server reads, and sets only the HTTPS ones", () => {
  for (const setting of Object.values(settings)) expect(envSource).toMatch(new RegExp(`^#?${setting.env}=`, "m"));
  const active = envSource.split("\n").filter((line) => /^[A-Z_]+=/.test(line));
  expect(active).toEqual(["MCP_DOMAINS=docs.example.com", "MCP_ACME_EMAIL=ops@example.com", "MCP_ACME_DIRECTORY=staging"]);
});
