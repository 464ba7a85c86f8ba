-- wrk script: each connection pauses between a response and its next request, so the
-- connections together send at a set rate instead of as fast as the server answers. The pause
-- is drawn from an exponential distribution with mean PACE_MS, so each connection's requests
-- are a Poisson process and the sum of them looks like many independent clients. (A constant
-- pause keeps the connections in step: wrk's timers fire on whole milliseconds, and a server
-- that answers a whole batch at once sends them off together again.) wrk takes whole
-- milliseconds, so the drawn pause is rounded up or down with the odds that keep its mean.
local pace = tonumber(os.getenv("PACE_MS") or "0")

function delay()
  local pause = -math.log(1 - math.random()) * pace
  local whole = math.floor(pause)
  if math.random() < pause - whole then
    return whole + 1
  end
  return whole
end
