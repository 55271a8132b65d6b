-- wrk script for scripts/bench.py.
--
--   wrk ... -s scripts/bench.lua http://127.0.0.1:PORT -- TENANTS_FILE WRITE_PERCENT
--
-- TENANTS_FILE has one line per tenant: its host, its API token and the SKUs it sells
-- (comma-separated; each sale is of one of them, at random).
-- Every request goes to the next tenant in turn (Host and Authorization rotate); with
-- WRITE_PERCENT > 0, that share of requests is POST /api/sales of one line, picked at
-- random so that writes spread over every tenant. The rest is the READ request.
-- done() prints one line, "BENCH {json}", which bench.py reads.

local READ_PATH = "/api/products?limit=20"
local tenants = {}
local write_percent = 0
local counter = 0
local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   for line in io.lines(args[1]) do
      local host, token, skus = line:match("^(%S+)%s+(%S+)%s+(%S+)$")
      if host then
         local sales = {}
         for sku in skus:gmatch("[^,]+") do
            table.insert(sales, '{"lines":[{"sku":"' .. sku .. '","quantity":"1"}],'
               .. '"payments":[{"method":"cash","amount":"100000"}]}')
         end
         table.insert(tenants, { host = host, auth = "Bearer " .. token, sales = sales })
      end
   end
   write_percent = tonumber(args[2] or "0")
   counter = id * 7919 -- threads start at different tenants
   math.randomseed(id + 1)
end

function request()
   counter = counter + 1
   local tenant = tenants[(counter % #tenants) + 1]
   local headers = { Host = tenant.host, Authorization = tenant.auth }
   if write_percent > 0 and math.random(100) <= write_percent then
      headers["Content-Type"] = "application/json"
      local sale = tenant.sales[math.random(#tenant.sales)]
      return wrk.format("POST", "/api/sales", headers, sale)
   end
   return wrk.format("GET", READ_PATH, headers)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,'
         .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
