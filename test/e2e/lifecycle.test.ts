import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { loggedPort, spawnServer } from "../support/process.ts";
import { tempDir } from "../support/server.ts";
import { settled } from "../support/wait.ts";

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "lifecycle-test", version: "1" } },
});

/** Starts a POST by hand and sends only part of its body; `finish()` sends the rest and reads the response. */
function halfSentRequest(port: number) {
  const socket = connect({ host: "127.0.0.1", port });
  let received = "";
  socket.on("data", (chunk) => (received += chunk.toString()));
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  const body = Buffer.from(initialize);
  const ready = new Promise<void>((resolve) => socket.on("connect", () => resolve()));
  return {
    async start() {
      await ready;
      socket.write(
        `POST /mcp HTTP/1.1\r\nHost: localhost:${port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.write(body.subarray(0, 20));
    },
    async finish(): Promise<string> {
      socket.write(body.subarray(20));
      await closed;
      return received;
    },
  };
}

test("SIGTERM lets requests in flight finish, closes event streams, and exits 0", async () => {
  const data = tempDir();
  const server = spawnServer({ MCP_PORT: "0", MCP_HOST: "127.0.0.1", MCP_DATA_DIR: data.path });
  const port = loggedPort(await server.waitFor(/msg=listening/));
  // Open event streams of both transports: a plain graceful stop would wait for them forever.
  const sse = await fetch(`http://127.0.0.1:${port}/sse`);
  expect(sse.status).toBe(200);
  const inFlight = Array.from({ length: 5 }, () => halfSentRequest(port));
  await Promise.all(inFlight.map((request) => request.start()));
  await Bun.sleep(100);

  server.proc.kill("SIGTERM");
  await server.waitFor(/msg=stopping signal=SIGTERM/);
  const responses = await Promise.all(inFlight.map((request) => request.finish()));
  for (const response of responses) {
    expect(response).toStartWith("HTTP/1.1 200");
    expect(response).toContain('"serverInfo"');
    // The client is told not to reuse a connection of a server going away.
    expect(response.toLowerCase()).toContain("connection: close");
  }
  // It exits without waiting for the open event streams (a plain graceful
  // stop would wait for them forever), and the requests in flight finished
  // before the shutdown deadline rather than being cut off by it.
  expect(await settled(server.proc.exited, "the server's exit after SIGTERM")).toEqual({ ok: true, value: 0 });
  expect(server.count(/msg=stopped/)).toBe(1);
  expect(server.count(/shutdown deadline passed/)).toBe(0);
  // New connections are refused once it is gone.
  await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  data.remove();
});

test("SIGHUP reloads the documentation source", async () => {
  const dir = tempDir();
  const index = join(dir.path, "index.json");
  writeFileSync(index, JSON.stringify([{ title: "First page", permalink: "https://docs.example.test/first/", contents: "The original text." }]));
  await using server = spawnServer({ MCP_PORT: "0", MCP_HOST: "127.0.0.1", MCP_DATA_DIR: dir.path, MCP_DOCS_SOURCE: index, MCP_DOCS_REFRESH: "off" });
  const port = loggedPort(await server.waitFor(/msg=listening/));
  // The first index is built after listening starts; a SIGHUP while it runs
  // joins that refresh, which may have read the source before the change.
  await server.waitFor(/msg="documentation indexed".*pages=1/);
  writeFileSync(index, JSON.stringify([
    { title: "First page", permalink: "https://docs.example.test/first/", contents: "The original text." },
    { title: "Second page", permalink: "https://docs.example.test/second/", contents: "Added while running." },
  ]));
  server.proc.kill("SIGHUP");
  await server.waitFor(/msg="documentation indexed".*pages=2/);
  const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
  expect(health.pages).toBe(2);
  dir.remove();
});
