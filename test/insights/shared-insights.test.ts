import { afterAll, beforeAll, expect, test } from "bun:test";
import { Insights } from "../../src/insights/index.ts";
import { createLogger } from "../../src/log/index.ts";
import { RedisStorage } from "../../src/storage/redis-storage.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";

let redis: TestRedis;
const opened: RedisStorage[] = [];

beforeAll(async () => {
  redis = await startRedis();
}, 300_000);

afterAll(async () => {
  for (const storage of opened) await storage.close();
  await redis?.stop();
});

/** A replica's insights over the Redis both share (a namespace per test). */
function replica(namespace: string): Insights {
  const storage = new RedisStorage({ url: redis.url, namespace });
  opened.push(storage);
  // A long interval: the test syncs by hand, so nothing depends on timing.
  return new Insights({ logger: createLogger("error", () => {}), storage, shareIntervalMs: 3_600_000 });
}

test("two replicas sharing Redis merge their counts, and one client asking both counts once", async () => {
  const a = replica("insights-merge");
  const b = replica("insights-merge");
  await a.start();
  await b.start();
  try {
    // Three distinct clients in all, spread over the replicas; client-2 asks both.
    a.record({ query: "Deploy to Vercel", results: 3, client: "192.0.2.1" });
    a.record({ query: "deploy to vercel", results: 3, client: "192.0.2.2" });
    b.record({ query: "deploy to vercel?", results: 3, client: "192.0.2.2" });
    b.record({ query: "missing page", results: 0, client: "192.0.2.9" });
    await a.sync();
    await b.sync();
    await a.sync();
    // Two distinct clients only (the shared hash key makes 192.0.2.2 one client on both): not shown yet.
    expect(a.view().top).toEqual([]);
    expect(a.view()).toMatchObject({ queries: 4, zeroResults: 1 });
    b.record({ query: "deploy to Vercel", results: 3, client: "192.0.2.3" });
    await b.sync();
    await a.sync();
    for (const view of [a.view(), b.view()]) {
      expect(view).toMatchObject({ queries: 5, zeroResults: 1, top: [{ query: "deploy to vercel", count: 4 }] });
    }
    // No client address is stored in Redis: only hashes under the namespace.
    const keys = await redis.command("KEYS", "insights-merge:*");
    const values = await Promise.all(
      keys
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line.startsWith("insights-merge:"))
        .map((key) => redis.command("DUMP", key)),
    );
    expect(values.length).toBeGreaterThan(0);
    expect(values.join("\n")).not.toContain("192.0.2.");
  } finally {
    await a.stop();
    await b.stop();
  }
});
