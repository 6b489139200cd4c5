-- A small file exercising every definition and import form we extract.
local json = require("cjson")
local util = require "acme.util"
local Config = require('acme.config').defaults

local M = {}
local MAX_DEPTH = 8
counter = 0

local function helper(value)
  return util.trim(value)
end

function M.parse(text)
  local function inner(s)
    return json.decode(s)
  end
  return inner(helper(text))
end

function M:describe()
  return self.name
end

M.render = function(view)
  return view
end

local handlers = {
  on_load = function() return Config end,
}

function global_fn(a, b)
  return a + b
end

return M
