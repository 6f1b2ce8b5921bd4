/**
 * Item 8: what one abusive client costs the others. A normal client asks the
 * Hono questions one after another (MCP 2026-07-28 `search`, from
 * 127.0.0.3) while an abusive one (from 127.0.0.2, a process of its own:
 * scripts/bench/load/abusive-client.ts) keeps 32 maximum-size searches in
 * flight: ~1 MB queries, the size of the attack that once pushed other
 * clients' p50 to 6.3 s. The normal client's latency is the measure; the
 * same searches with nobody else on the server, in the same run, the
 * baseline. Every answer is checked.
 *
 * The product serves the Hono corpus over plain HTTP with its default
 * per-client caps (32 requests in flight per client).
 */
import http from "node:http";
import { HONO_CASES } from "../../../test/support/relevance.ts";
import { productBinary } from "../lib/compile.ts";
import { startProduct, waitReady } from "../lib/fixtures.ts";
import type { Item, Options } from "../lib/item.ts";
import { reps } from "../lib/item.ts";
import { endpoint, modernHeaders, modernToolCallBody } from "../lib/mcp.ts";
import { ratioRow } from "../lib/report.ts";
import { BENCH_DIR, freePorts, say, sleep, spawnChild } from "../lib/runtime.ts";
import { join } from "node:path";
import { sample } from "../lib/stats.ts";

const ABUSIVE_IN_FLIGHT = 32;

/** One POST from a chosen local address; resolves with the status and body. */
function post(port: number, from: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: "/mcp", method: "POST", headers, agent: keepAlive(from) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const agents = new Map<string, http.Agent>();
function keepAlive(from: string): http.Agent {
  let agent = agents.get(from);
  if (!agent) agents.set(from, (agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: from } as http.AgentOptions)));
  return agent;
}

/** The normal client: every Hono question once, in order; each latency in ms. */
async function normalClient(port: number, rounds: number): Promise<number[]> {
  const headers = modernHeaders("search");
  const latencies: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const [i, c] of HONO_CASES.entries()) {
      const started = performance.now();
      const answer = await post(port, "127.0.0.3", modernToolCallBody("search", { query: c.question }, i + 2), headers);
      latencies.push(performance.now() - started);
      if (answer.status !== 200 || !answer.text.includes('"results"')) throw new Error(`normal search ${i}: HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
    }
  }
  return latencies;
}

export const fairness: Item = {
  name: "fairness",
  number: 8,
  title: "a normal client's search latency beside an abusive one",
  async run(options: Options) {
    const product = await productBinary(options.binary);
    const rounds = reps(options, 3, 1);
    const [port] = (await freePorts(1)) as [number];
    const server = startProduct(product.path, { docs: "hono" }, port);
    try {
      await waitReady(server, endpoint("http", port));
      say(`item 8: ${rounds} round(s) of the ${HONO_CASES.length} Hono questions, alone and beside ${ABUSIVE_IN_FLIGHT} maximum-size searches in flight`);
      await normalClient(port, 1); // warm-up
      const alone = await normalClient(port, rounds);

      const abuser = spawnChild([process.execPath, join(BENCH_DIR, "load/abusive-client.ts")], { BENCH_PORT: String(port), BENCH_FROM: "127.0.0.2", BENCH_IN_FLIGHT: String(ABUSIVE_IN_FLIGHT) }, { name: "abusive-client" });
      let beside: number[];
      try {
        for (let waited = 0; !abuser.log().includes("ready"); waited += 50) {
          if (waited > 30_000 || abuser.proc.exitCode !== null) throw new Error(`the abusive client did not start:\n${abuser.log()}`);
          await sleep(50);
        }
        await sleep(300); // all 32 in flight
        beside = await normalClient(port, rounds);
      } finally {
        abuser.signal("SIGTERM");
        await abuser.proc.exited;
      }
      const abusiveAnswers = JSON.parse(abuser.log().trim().split("\n").at(-1) ?? "{}") as Record<string, number>;
      if (Object.keys(abusiveAnswers).some((status) => status !== "200" && status !== "429")) throw new Error(`abusive searches got ${JSON.stringify(abusiveAnswers)}`);
      const p50 = (values: number[]) => sample(values, "ms");
      return {
        rows: [
          ratioRow("fairness.search.p50", `8 search latency of a normal client beside ${ABUSIVE_IN_FLIGHT} ~1 MB searches in flight from another, vs alone`, p50(beside), p50(alone), { op: "<=", value: 3 }),
        ],
        details: { rounds, questions: HONO_CASES.length, abusiveAnswers, aloneMs: alone, besideMs: beside },
      };
    } finally {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
      await server.child.kill();
    }
  },
};
