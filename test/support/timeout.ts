import { setDefaultTimeout } from "bun:test";

// Fits the slowest integration test (certificate issuance and renewal against
// Pebble, processes started and stopped): see bunfig.toml.
setDefaultTimeout(60_000);
