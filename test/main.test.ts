import { expect, test } from "bun:test";
import { createLogger } from "../src/log/index.ts";
import { startServer } from "../src/main.ts";
import type { Listener, Served } from "../src/server/listener.ts";
import { tempDir, testConfig } from "./support/server.ts";

// The one lifecycle of src/main.ts, with a listener injected in place of
// plain HTTP or HTTPS: what it asks of a listener, and in which order.

function recordingListener() {
  const calls: string[] = [];
  let served: Served | undefined;
  const listener: Listener = {
    names: ["docs.example.test"],
    async open() {
      calls.push("open");
      return new URL("https://docs.example.test");
    },
    async serve(app) {
      calls.push("serve");
      served = app;
    },
    port: 8443,
    stopAccepting: () => void calls.push("stopAccepting"),
    async stop() {
      calls.push("stop");
    },
    async reload() {
      calls.push("reload");
    },
  };
  return { listener, calls, served: () => served! };
}

test("open, then the parts, then serve; stop accepting, drain, stop; reload reaches the listener", async () => {
  const data = tempDir();
  const { listener, calls, served } = recordingListener();
  const logs: string[] = [];
  const running = await startServer(testConfig({ MCP_DATA_DIR: data.path }), createLogger("debug", (line) => logs.push(line)), { listener });
  try {
    expect(calls).toEqual(["open", "serve"]);
    expect(running.url.href).toBe("https://docs.example.test/");
    expect(running.port).toBe(8443);
    await running.loaded;
    // The app behind it answers, for the listener's names: page URLs come from its URL.
    const health = await served().fetch(new Request("https://docs.example.test/healthz", { headers: { Host: "docs.example.test" } }), undefined as never);
    expect(health.status).toBe(200);
    expect(served().health({ ready: true, renewals: 0, failures: 0 }).ready).toBe(true);
    const evil = await served().fetch(new Request("https://evil.example/llms.txt", { headers: { Host: "evil.example" } }), undefined as never);
    const ours = await served().fetch(new Request("https://docs.example.test/llms.txt", { headers: { Host: "docs.example.test" } }), undefined as never);
    expect(ours.status).toBe(200);
    expect(evil.status).toBe(403);

    await running.reload();
    expect(calls.at(-1)).toBe("reload");
  } finally {
    await running.stop(1_000);
    data.remove();
  }
  expect(calls).toEqual(["open", "serve", "reload", "stopAccepting", "stop"]);
});

test("when the parts cannot start, the listener is stopped and the error goes to the caller", async () => {
  const { listener, calls } = recordingListener();
  const config = testConfig({ MCP_DOCS_SOURCE: "/nonexistent/docs" });
  await expect(startServer(config, createLogger("error", () => {}), { listener })).rejects.toThrow("does not exist");
  expect(calls).toEqual(["open", "stop"]);
});
