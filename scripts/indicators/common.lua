-- indicators/common.lua: argument checks shared by the indicator modules.
--
-- The checks raise at level 3: the error names the line of the strategy that
-- called the constructor or update(), not this file or the indicator's own.

local type, error, floor, tostring = type, error, math.floor, tostring

local MAX_PERIOD = 100000   -- TA-Lib's upper bound; also keeps ring buffers small

local function describe(v)
  if type(v) == "number" then return tostring(v) end
  return type(v)
end

local function period(n, who)
  if type(n) ~= "number" or n ~= floor(n) or n < 1 or n > MAX_PERIOD then
    error(who .. ": period must be an integer from 1 to " .. MAX_PERIOD
          .. " (got " .. describe(n) .. ")", 3)
  end
  return n
end

-- Rejects NaN and infinities too: either would poison a running sum for good.
local function value(x, who)
  if type(x) ~= "number" or x ~= x or x == 1 / 0 or x == -1 / 0 then
    error(who .. ":update: value must be a finite number (got " .. describe(x) .. ")", 3)
  end
  return x
end

-- A constructor's real-valued parameter (a multiplier, say): any finite number.
local function number(x, who, what)
  if type(x) ~= "number" or x ~= x or x == 1 / 0 or x == -1 / 0 then
    error(who .. ": " .. what .. " must be a finite number (got " .. describe(x) .. ")", 3)
  end
  return x
end

return { period = period, value = value, number = number, MAX_PERIOD = MAX_PERIOD }
