-- wrk script for benches/load/booking.py: each request books one prepared
-- time for one prepared patient. The fixtures file has one booking per line:
-- "<cookie>\t<form body>". Thread k of n takes lines k, k+n, k+2n, ...
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path, n = args[1], tonumber(args[2])
  lines, next_line = {}, 1
  local i = 0
  for line in io.lines(path) do
    if i % n == id then
      local cookie, body = line:match("^([^\t]*)\t(.*)$")
      table.insert(lines, wrk.format("POST", "/api/book_consultation", {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["Accept"] = "application/json",
        ["Cookie"] = cookie,
      }, body))
    end
    i = i + 1
  end
end

function request()
  local r = lines[next_line]
  if r == nil then
    -- Out of fixtures: a cheap request that is not counted as a booking.
    return wrk.format("GET", "/healthz")
  end
  next_line = next_line + 1
  return r
end

function done(summary, latency, requests)
  io.write(string.format("WRK requests=%d seconds=%.3f non2xx=%d errors=%d p50=%d p95=%d p99=%d\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end

-- WRK_DEBUG=1: print the first few answers that were not 2xx.
if os.getenv("WRK_DEBUG") then
  local shown = 0
  function response(status, headers, body)
    if status >= 300 and shown < 3 then
      shown = shown + 1
      io.write(string.format("%d %s\n", status, body))
    end
  end
end
