import { settings } from "../../config/settings.ts";
import type { Logger } from "../../log/index.ts";
import type { TxtPublisher, TxtRecord } from "./publisher.ts";

export interface HookOptions {
  /** The operator's command (`MCP_DNS_HOOK`), run by /bin/sh with the action as its last argument. */
  command: string;
  /** Passed on as MCP_DNS_ZONE when configured. */
  zone?: string;
  /** Longest a run may take before it is killed (default 2 minutes). */
  timeoutMs?: number;
  logger: Logger;
}

/** Settings that hold secrets: a hook gets the server's environment without them. */
const SECRET_VARIABLES: readonly string[] = Object.values(settings).flatMap((setting) => ("secret" in setting && setting.secret ? [setting.env] : []));

/**
 * DNS-01 records through any provider's command-line tool: the operator's
 * command is run as `<command> present` and `<command> cleanup`, with
 * MCP_DNS_NAME (`_acme-challenge.docs.example.com`), MCP_DNS_VALUE,
 * MCP_DNS_DOMAIN (the name being validated) and, if set, MCP_DNS_ZONE in
 * its environment. Exit status 0 means done. Its environment is the
 * server's, less the server's own secrets (a provider's token in the env
 * file is the hook's to use; the storage key is not).
 *
 * @example
 * const publisher = hookPublisher({ command: "/etc/mcp-server/dns-hook", logger });
 */
export function hookPublisher(options: HookOptions): TxtPublisher {
  const run = async (action: "present" | "cleanup", record: TxtRecord): Promise<void> => {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !SECRET_VARIABLES.includes(key)) env[key] = value;
    Object.assign(env, { MCP_DNS_NAME: record.name, MCP_DNS_VALUE: record.value, MCP_DNS_DOMAIN: record.domain }, options.zone ? { MCP_DNS_ZONE: options.zone } : {});
    // In a session of its own (setsid), so that a timeout kills the whole
    // tree: the provider's CLI, and whatever it started, holding our pipes.
    const setsid = Bun.which("setsid");
    const argv = ["/bin/sh", "-c", `${options.command} "$1"`, "mcp-dns-hook", action];
    const child = Bun.spawn(setsid ? [setsid, ...argv] : argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const timeoutMs = options.timeoutMs ?? 120_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(setsid ? -child.pid : child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    const output = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    const code = await child.exited.finally(() => clearTimeout(timer));
    // A grandchild that escaped the kill may hold the pipes open: what came so far is enough.
    const [stdout, stderr] = await Promise.race([output, Bun.sleep(1_000).then(() => ["", ""])]);
    const said = lastLine(stderr) || lastLine(stdout);
    if (timedOut) throw new Error(`the DNS hook (${action} ${record.name}) did not finish within ${Math.round(timeoutMs / 1000)} s`);
    if (code !== 0) throw new Error(`the DNS hook (${action} ${record.name}) failed with exit status ${code}${said ? `: ${said}` : ""}`);
    options.logger.debug("DNS hook done", { action, name: record.name, output: said || undefined });
  };
  return {
    description: `the command in MCP_DNS_HOOK`,
    add: (record) => run("present", record),
    remove: (record) => run("cleanup", record),
  };
}

/** The last non-empty line of a command's output, cut to 300 characters, for one-line errors. */
function lastLine(text: string): string {
  return (text.trim().split("\n").at(-1) ?? "").trim().slice(0, 300);
}
