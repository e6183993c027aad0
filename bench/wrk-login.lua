-- wrk script: sign in (POST /v1/sessions) with a different seeded account
-- each request, seed0 … seed<ACCOUNTS-1> (password "bench password"), so
-- that no account or address hits the guessing limit of 5 attempts in
-- flight: what is measured is hashing, not the lockout.
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
  return wrk.format("POST", "/v1/sessions", { ["Content-Type"] = "application/json" }, body)
end
