-- tests/lua/indicators/sandbox.lua: loads scripts/indicators/ the way the host's
-- sandbox does, for the indicator tests that run under plain LuaJIT.
--
--   local new_sandbox = dofile(dir .. "/sandbox.lua")(repo_root)
--   local env, classes = new_sandbox()
--   local ind = env.require("indicators")
--
-- Each call makes a fresh "sandbox": an environment holding only the sandbox's
-- libraries plus a `class` and `require` shaped like the prelude's (named
-- metatables in a per-sandbox registry, modules cached per sandbox, looked up
-- under scripts/). Reading or writing a global that is not there is an error.
return function(root)
  -- A fresh "sandbox": its own class registry and module cache.
  local function new_sandbox()
    local classes, loaded = {}, {}
    local env = {}
    for _, k in ipairs({ "assert", "error", "ipairs", "next", "pairs", "pcall", "select",
                         "setmetatable", "getmetatable", "rawget", "rawset", "rawequal",
                         "tonumber", "tostring", "type", "unpack", "xpcall" }) do
      env[k] = _G[k]
    end
    env.string, env.table, env.math, env.bit = string, table, math, bit
    env._G = env
    function env.class(name)
      if type(name) ~= "string" or name == "" then
        error("bad argument #1 to 'class' (non-empty string expected)", 2)
      end
      local mt = classes[name]
      if mt then return mt end
      mt = { __class = name }
      mt.__index = mt
      classes[name] = mt
      return mt
    end
    function env.require(name)
      local v = loaded[name]
      if v ~= nil then return v end
      local rel = name:gsub("%.", "/")
      local fn = loadfile(root .. "/scripts/" .. rel .. ".lua")
               or loadfile(root .. "/scripts/" .. rel .. "/init.lua")
      if not fn then error("module '" .. name .. "' not found", 2) end
      setfenv(fn, env)
      local r = fn(name)
      if r == nil then r = true end
      loaded[name] = r
      return r
    end
    setmetatable(env, {
      __newindex = function(_, k) error("global written: " .. tostring(k), 2) end,
      __index = function(_, k) error("global read: " .. tostring(k), 2) end,
    })
    return env, classes
  end

  return new_sandbox
end
