import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureCommands, findCommand } from "../support/debian.ts";

// scripts/mcp-server.service checked by systemd's own parser
// (`systemd-analyze verify`), plus the settings that make it what it is.

const repo = join(import.meta.dir, "../..");
const unitSource = readFileSync(join(repo, "scripts/mcp-server.service"), "utf8");

const scratch = mkdtempSync(join(tmpdir(), "mcp-unit-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(() => ensureCommands([["systemd-analyze", "systemd"]], "The systemd unit tests"));
const systemdAnalyze = () => findCommand("systemd-analyze") ?? "systemd-analyze";

/** The unit's keys as [section, key, value], in order. */
function entries(text: string): [string, string, string][] {
  const out: [string, string, string][] = [];
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf("=");
    out.push([section, line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return out;
}
const values = (section: string, key: string) =>
  entries(unitSource)
    .filter(([s, k]) => s === section && k === key)
    .map(([, , v]) => v);
const value = (section: string, key: string) => values(section, key).at(-1);

function verify(unitText: string) {
  // verify insists that ExecStart exists and is executable: point it at a
  // stand-in in the temp folder, under the unit's own name.
  const binary = join(scratch, "mcp-server");
  writeFileSync(binary, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const unit = join(scratch, "mcp-server.service");
  const rewritten = unitText.replace(/^ExecStart=.*$/m, `ExecStart=${binary}`);
  expect(rewritten).toContain(`ExecStart=${binary}\n`);
  writeFileSync(unit, rewritten);
  const result = Bun.spawnSync([systemdAnalyze(), "verify", "--man=no", unit], {
    env: { ...process.env, SYSTEMD_LOG_COLOR: "0", SYSTEMD_PAGER: "" },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { exitCode: result.exitCode, output: result.stdout.toString() + result.stderr.toString() };
}

test(
  "systemd-analyze verify accepts the unit: exit 0, no unknown keys, nothing ignored",
  () => {
    const { exitCode, output } = verify(unitSource);
    // Lines about our unit only: on a host with broken units of its own,
    // verify may mention those too.
    const ours = output.split("\n").filter((line) => line.includes("mcp-server"));
    expect(ours).toEqual([]);
    expect(output).not.toMatch(/Unknown (key|section|lvalue)|ignoring|Failed to parse|Invalid/i);
    expect(exitCode).toBe(0);
  },
  60_000,
);

test(
  "the check would catch a misspelt key",
  () => {
    const { output } = verify(unitSource.replace("ProtectSystem=strict", "ProtectSystem=strict\nProtectSystemm=strict"));
    expect(output).toMatch(/Unknown key .*ProtectSystemm/);
  },
  60_000,
);

test("runs as its own user with only CAP_NET_BIND_SERVICE", () => {
  expect(value("Service", "User")).toBe("mcp-server");
  expect(value("Service", "Group")).toBe("mcp-server");
  expect(value("Service", "AmbientCapabilities")).toBe("CAP_NET_BIND_SERVICE");
  expect(value("Service", "CapabilityBoundingSet")).toBe("CAP_NET_BIND_SERVICE");
});

test("state, settings and process management", () => {
  expect(value("Service", "ExecStart")).toBe("/usr/local/bin/mcp-server");
  expect(value("Service", "ExecReload")).toBe("/bin/kill -HUP $MAINPID");
  expect(value("Service", "StateDirectory")).toBe("mcp-server");
  expect(value("Service", "StateDirectoryMode")).toBe("0700");
  expect(value("Service", "WorkingDirectory")).toBe("/var/lib/mcp-server");
  expect(value("Service", "Environment")).toBe("MCP_CERTS_DIR=/var/lib/mcp-server/certs MCP_DATA_DIR=/var/lib/mcp-server/data");
  expect(value("Service", "EnvironmentFile")).toBe("-/etc/mcp-server/env");
  expect(value("Service", "Restart")).toBe("on-failure");
  expect(value("Service", "RestartSec")).toBe("5s");
  expect(value("Service", "KillSignal")).toBe("SIGTERM");
  expect(value("Service", "TimeoutStopSec")).toBe("30s");
  expect(value("Service", "UMask")).toBe("0077");
  // A crash loop gives up instead of running for ever.
  expect(Number(value("Unit", "StartLimitBurst"))).toBeGreaterThan(1);
  expect(value("Unit", "StartLimitIntervalSec")).toBeDefined();
  expect(value("Install", "WantedBy")).toBe("multi-user.target");
});

test("hardening keys are all present", () => {
  const hardening: Record<string, string> = {
    NoNewPrivileges: "yes",
    ProtectSystem: "strict",
    ProtectHome: "yes",
    PrivateTmp: "yes",
    PrivateDevices: "yes",
    ProtectKernelTunables: "yes",
    ProtectKernelModules: "yes",
    ProtectKernelLogs: "yes",
    ProtectControlGroups: "yes",
    ProtectClock: "yes",
    ProtectHostname: "yes",
    RestrictAddressFamilies: "AF_INET AF_INET6 AF_UNIX",
    RestrictNamespaces: "yes",
    RestrictRealtime: "yes",
    RestrictSUIDSGID: "yes",
    LockPersonality: "yes",
    SystemCallArchitectures: "native",
  };
  for (const [key, expected] of Object.entries(hardening)) expect([key, value("Service", key)]).toEqual([key, expected]);
  expect(values("Service", "SystemCallFilter")).toEqual(["@system-service", "~@privileged @resources"]);
  expect(value("Service", "SystemCallErrorNumber")).toBe("EPERM");
  // Measured to switch Bun's JIT off (see the comment in the unit): not set.
  expect(values("Service", "MemoryDenyWriteExecute")).toEqual([]);
});
