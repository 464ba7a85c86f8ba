-- wrk script: each connection pauses PACE_MS between a response and its next request, so the
-- connections together send at a set rate instead of as fast as the server answers. wrk takes
-- whole milliseconds, so a fractional pause is drawn between its floor and ceiling with the
-- right odds.
local pace = tonumber(os.getenv("PACE_MS") or "0")
local whole = math.floor(pace)
local fraction = pace - whole

function delay()
  if math.random() < fraction then
    return whole + 1
  end
  return whole
end
