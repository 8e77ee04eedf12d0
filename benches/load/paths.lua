-- wrk script for benches/load/read_paths.py: GETs the paths of a file (one
-- per line), each thread starting at its own line and going round, and
-- prints one machine-readable summary line.
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    table.insert(paths, wrk.format("GET", line, { ["Accept"] = "text/html,application/json" }))
  end
  next_path = (id * 7919) % #paths + 1
end

function request()
  local r = paths[next_path]
  next_path = next_path % #paths + 1
  return r
end

function done(summary, latency, requests)
  io.write(string.format("WRK requests=%d seconds=%.3f non2xx=%d errors=%d p50=%d p95=%d p99=%d\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
