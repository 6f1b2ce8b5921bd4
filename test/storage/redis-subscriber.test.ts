import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { redisStorages } from "../support/redis-storage.ts";
import { bundle } from "../support/storage.ts";
import { until } from "../support/wait.ts";

// Replicas hearing about each other's bundles (src/storage/redis-subscriber.ts):
// delivery, isolation between namespaces, and recovery after Redis restarts or hangs.

let redis: TestRedis;
const storages = redisStorages(() => redis);
const open = storages.open;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Polls until `check` holds; a bound far above any real delay turns a hang into a clear failure. */
const waitFor = (what: string, check: () => boolean) => until(what, check);

beforeAll(async () => {
  redis = await startRedis();
}, 300_000);

afterAll(async () => {
  storages.closeAll();
  await redis?.stop();
});

describe("RedisStorage: notifications", () => {
  test("a stored bundle reaches another instance's subscription at once; other namespaces hear nothing", async () => {
    const writer = open();
    const replica = open({ namespace: writer.namespace });
    const stranger = open();
    const heard: string[] = [];
    const strangerHeard: string[] = [];
    let ready = 0;
    const unsubscribe = replica.subscribe((name) => heard.push(name), { onReady: () => ready++ });
    const unsubscribeStranger = stranger.subscribe((name) => strangerHeard.push(name));
    await waitFor("subscription", () => ready === 1);
    await sleep(50); // the stranger's subscription too

    await writer.storeBundle("docs.example.com", bundle(1));
    await waitFor("notification", () => heard.length === 1);
    expect(heard).toEqual(["docs.example.com"]);
    // The notification comes after the data: loading on it gives the new bundle.
    expect((await replica.loadBundle("docs.example.com"))?.["cert.pem"]).toBe("cert 1");

    // A second listener on the same instance shares the connection; the writer hears itself too.
    const second: string[] = [];
    const own: string[] = [];
    const unsubscribeSecond = replica.subscribe((name) => second.push(name));
    let ownReady = false;
    const unsubscribeOwn = writer.subscribe((name) => own.push(name), { onReady: () => (ownReady = true) });
    await waitFor("writer's subscription", () => ownReady);
    await writer.storeBundle("api.example.com", bundle(2));
    await waitFor("second notification", () => heard.length === 2 && second.length === 1 && own.length === 1);
    expect(heard).toEqual(["docs.example.com", "api.example.com"]);
    expect(second).toEqual(["api.example.com"]);

    unsubscribe();
    unsubscribeSecond();
    unsubscribe(); // idempotent
    await writer.storeBundle("docs.example.com", bundle(3));
    await waitFor("writer's own notification", () => own.length === 2);
    await sleep(100);
    expect(heard).toHaveLength(2);
    expect(second).toHaveLength(1);
    expect(strangerHeard).toEqual([]);
    unsubscribeOwn();
    unsubscribeStranger();
    // Plain keys are not announced.
    expect(heard).toHaveLength(2);
  });

  test("a throwing listener does not stop the others and is reported to onError", async () => {
    const writer = open();
    const replica = open({ namespace: writer.namespace });
    const errors: unknown[] = [];
    const heard: string[] = [];
    let ready = 0;
    const stopBad = replica.subscribe(() => {
      throw new Error("listener bug");
    }, { onError: (error) => errors.push(error), onReady: () => ready++ });
    const stopGood = replica.subscribe((name) => heard.push(name), { onReady: () => ready++ });
    await waitFor("subscriptions", () => ready === 2);
    await writer.storeBundle("b", bundle(1));
    await waitFor("delivery", () => heard.length === 1 && errors.length === 1);
    expect((errors[0] as Error).message).toBe("listener bug");
    stopBad();
    stopGood();
  });
});

describe("RedisStorage: a subscription through Redis trouble", () => {
  let flaky: TestRedis;
  beforeAll(async () => {
    flaky = await startRedis();
  }, 60_000);
  afterAll(async () => {
    await flaky?.stop();
  });

  test("a subscription comes back by itself after a restart or a hang, and then announces every bundle", async () => {
    const writer = open({ timeoutMs: 1_500 }, flaky);
    const replica = open({ namespace: writer.namespace, timeoutMs: 1_500, healthCheckMs: 500 }, flaky);
    await writer.storeBundle("docs", bundle(1));
    const heard: string[] = [];
    const errors: unknown[] = [];
    let ready = 0;
    const unsubscribe = replica.subscribe((name) => heard.push(name), { onReady: () => ready++, onError: (error) => errors.push(error) });
    await waitFor("subscription", () => ready === 1);

    await flaky.restart({ keepData: true });
    await waitFor("re-subscription", () => ready === 2);
    expect(errors.length).toBeGreaterThan(0);
    expect((errors[0] as Error).name).toBe("RedisUnavailableError");
    await waitFor("catch-up announcement", () => heard.includes("docs"));
    heard.length = 0;
    await writer.storeBundle("api", bundle(2));
    await waitFor("notification after restart", () => heard.includes("api"));

    // A hung server is noticed by the health check, and the subscription recovers after it.
    const errorsBefore = errors.length;
    flaky.pause();
    try {
      // healthCheckMs 500 + timeoutMs 1500: noticed within about 2 s.
      await waitFor("health check failure", () => errors.slice(errorsBefore).some((error) => /health check failed/.test((error as Error).message)));
    } finally {
      flaky.resume();
    }
    await waitFor("re-subscription after hang", () => ready >= 3);
    heard.length = 0;
    await writer.storeBundle("docs", bundle(3));
    await waitFor("notification after hang", () => heard.includes("docs"));
    unsubscribe();
  }, 60_000);
});
