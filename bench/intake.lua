-- wrk script for bench_intake.py: POST a JSON body (WRK_BODY), optionally with an
-- Authorization header (WRK_AUTH); count 503s (back-pressure) apart from other errors and
-- print one JSON line of figures when the run ends.
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("WRK_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
if os.getenv("WRK_GET") == "1" then
  wrk.method = "GET"
  wrk.body = nil
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  refused = 0
  failed = 0
end

function response(status, headers, body)
  if status == 503 then
    refused = refused + 1
  elseif status >= 400 then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local refused_total, failed_total = 0, 0
  for _, thread in ipairs(threads) do
    refused_total = refused_total + thread:get("refused")
    failed_total = failed_total + thread:get("failed")
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "refused": %d, "failed": %d, '
    .. '"socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, refused_total, failed_total,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
