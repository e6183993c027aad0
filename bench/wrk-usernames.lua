-- wrk script: look up a different username each request (the per-IP
-- rate-limited path of seed 004; most answers are 429 by design).
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/v1/usernames/free" .. n)
end
