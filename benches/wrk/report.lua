-- Prints one JSON line per run for benches/load.sh. Besides wrk's figures it counts the
-- requests sent: wrk's own count holds only the answers it read before the clock ran out, so
-- a server that counts requests (the exercise's hit counter) may see a few more.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  sent = 0
  prepared = wrk.format()
end

function request()
  sent = sent + 1
  return prepared
end

function done(summary, latency, requests)
  local total_sent = 0
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
  end
  local errors = summary.errors
  io.write(string.format(
    '{"answered":%d,"sent":%d,"seconds":%.3f,"p50_us":%d,"p99_us":%d,"socket_errors":%d,"status_errors":%d}\n',
    summary.requests, total_sent, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.timeout, errors.status))
end
