-- wrk script: sign in (POST /v1/sessions) with a different seeded account
-- each request, seed0 … seed<ACCOUNTS-1> (password "bench password"), so
-- that no account or address hits the guessing limit of 5 attempts in
-- flight: what is measured is hashing, not the lockout. Each request sends
-- a browser's User-Agent, so a sign-in parses a device and compares it with
-- the account's recent sign-ins (the "new sign-in" mail's check), as a
-- real one does.
local accounts = tonumber(os.getenv("ACCOUNTS") or "1000")
local threads = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

local n = 0
function init()
  -- Threads start far apart in the rotation.
  n = (offset or 0) * 7919
end

function request()
  n = n + 1
  local body = string.format('{"login":"seed%d","password":"bench password"}', n % accounts)
  local headers = {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
  }
  return wrk.format("POST", "/v1/sessions", headers, body)
end
