// The graphile-worker side of `cimjob-bench --only cluster`: the same work (`/bin/true` run
// with child_process.execFile) through graphile-worker on the same PostgreSQL, at the same
// concurrency. Prints one JSON line.
//
//   node bench.js throughput URL SCHEMA N CONCURRENCY   N jobs queued first, then run
//   node bench.js latency URL SCHEMA N CONCURRENCY RATE N jobs added RATE per second, each
//                                                       timed from just before its add to
//                                                       its task's start
"use strict";
const { run, makeWorkerUtils, Logger } = require("graphile-worker");
const { execFile } = require("node:child_process");
const { promisify } = require("node:util");

const execFileP = promisify(execFile);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const quiet = new Logger(() => () => {});

async function main() {
  const [mode, connectionString, schema, nText, concurrencyText, rateText] =
    process.argv.slice(2);
  const n = Number(nText);
  const concurrency = Number(concurrencyText);
  if (!["throughput", "latency"].includes(mode) || !(n > 0) || !(concurrency > 0)) {
    throw new Error(`bad arguments: ${process.argv.slice(2).join(" ")}`);
  }
  const utils = await makeWorkerUtils({ connectionString, schema, logger: quiet });
  await utils.migrate();
  let done = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const latencies = [];
  const taskList = {
    true: async (payload) => {
      if (payload.t) latencies.push(Date.now() - payload.t);
      await execFileP("/bin/true");
      done += 1;
      if (done === n) finish();
    },
  };
  if (mode === "throughput") {
    // the queue's own add_job, in one statement
    await utils.withPgClient((client) =>
      client.query(
        `SELECT "${schema}".add_job('true', '{}'::json) FROM generate_series(1, $1)`,
        [n],
      ),
    );
  }
  const started = process.hrtime.bigint();
  const runner = await run({
    connectionString,
    schema,
    concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    taskList,
    logger: quiet,
  });
  if (mode === "latency") {
    const gap = 1000 / Number(rateText);
    for (let i = 0; i < n; i += 1) {
      await utils.addJob("true", { t: Date.now() });
      await sleep(gap);
    }
  }
  const timeout = setTimeout(() => {
    console.error(`only ${done} of ${n} jobs ran within ten minutes`);
    process.exit(1);
  }, 600_000);
  await finished;
  clearTimeout(timeout);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await runner.stop();
  await utils.release();
  console.log(JSON.stringify({ seconds, jobs_per_s: n / seconds, latencies_ms: latencies }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
