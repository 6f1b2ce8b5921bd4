// The server as the process tests run it: src/main.ts's command line, plus
// the crash points of the fault tests, which only this entry can install.
// They come from MCP_TEST_FAULTS, a variable the shipped binary never reads
// (and MCP_TEST_TUNING, which it does read, refuses them):
//
//   MCP_TEST_FAULTS='{"crashAt":"order"}'   SIGKILL when an order reaches the step
//   MCP_TEST_FAULTS='{"pauseAt":"order"}'   SIGSTOP there, holding the lock, until SIGCONT
//
// Steps: see OrderStep in src/tls/acme-order.ts.
import type { Logger } from "../../src/log/index.ts";
import { main } from "../../src/main.ts";
import type { OrderStep } from "../../src/tls/acme-order.ts";
import type { OrderStepHook } from "../../src/tls/https-server.ts";

const STEPS: readonly OrderStep[] = ["account", "order", "challenge-published", "challenge-validated", "finalized", "downloaded", "stored"];

interface Faults {
  crashAt?: OrderStep;
  pauseAt?: OrderStep;
}

function parseFaults(text: string | undefined): Faults {
  if (!text) return {};
  const faults = JSON.parse(text) as Record<string, unknown>;
  for (const [key, value] of Object.entries(faults)) {
    if (key !== "crashAt" && key !== "pauseAt") throw new Error(`MCP_TEST_FAULTS: unknown fault ${JSON.stringify(key)}`);
    if (!STEPS.includes(value as OrderStep)) throw new Error(`MCP_TEST_FAULTS: ${key}: not an order step: ${JSON.stringify(value)}`);
  }
  return faults as Faults;
}

function crashPoints({ crashAt, pauseAt }: Faults): OrderStepHook | undefined {
  if (!crashAt && !pauseAt) return undefined;
  return async (step: OrderStep, log: Logger) => {
    if (step === crashAt) {
      log.warn("test crash point reached; killing the process", { step });
      process.kill(process.pid, "SIGKILL");
    }
    if (step === pauseAt) {
      log.warn("test pause point reached; stopping the process", { step });
      // Let the log line out before the process stops.
      await Bun.sleep(50);
      process.kill(process.pid, "SIGSTOP");
    }
  };
}

const status = await main(process.argv.slice(2), process.env, { onOrderStep: crashPoints(parseFaults(process.env.MCP_TEST_FAULTS)) });
if (status !== undefined) process.exit(status);
