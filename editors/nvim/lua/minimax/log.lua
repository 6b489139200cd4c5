--- A small append-only log file under `stdpath("log")` (conform.nvim's log.lua idea).
---
--- One line per record: `[LEVEL time] message`. The level comes from `log_level` in the
--- config. Nothing secret is ever passed here: the API key never reaches Lua except as the
--- output of `api_key_cmd`, which goes straight into the server's environment.

local M = {}

local LEVELS = { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 }

--- Path of the log file.
---@return string
function M.path()
  return vim.fs.joinpath(vim.fn.stdpath("log") --[[@as string]], "minimax.log")
end

---@param level string
---@return boolean
local function enabled(level)
  local threshold = require("minimax.config").get().log_level
  return LEVELS[level] >= (LEVELS[threshold] or LEVELS.warn)
end

---@param value any
---@return string
local function render(value)
  if type(value) == "string" then
    return value
  end
  return vim.inspect(value, { newline = " ", indent = "" })
end

---@param level string
---@param fmt string
---@param ... any
local function write(level, fmt, ...)
  if not enabled(level) then
    return
  end
  local args = vim.tbl_map(render, { ... })
  local ok, message = pcall(string.format, fmt, unpack(args))
  if not ok then
    message = fmt .. " " .. table.concat(args, " ")
  end
  local path = M.path()
  vim.fn.mkdir(vim.fs.dirname(path), "p")
  local file = io.open(path, "a")
  if not file then
    return -- A log that cannot be written must never break editing.
  end
  file:write(("[%-5s %s] %s\n"):format(level:upper(), os.date("%Y-%m-%d %H:%M:%S"), message))
  file:close()
end

---@param fmt string
---@param ... any
function M.debug(fmt, ...)
  write("debug", fmt, ...)
end

---@param fmt string
---@param ... any
function M.info(fmt, ...)
  write("info", fmt, ...)
end

---@param fmt string
---@param ... any
function M.warn(fmt, ...)
  write("warn", fmt, ...)
end

---@param fmt string
---@param ... any
function M.error(fmt, ...)
  write("error", fmt, ...)
end

--- Log at ERROR and tell the user once in a short message pointing at the log.
---@param message string
function M.notify_error(message)
  write("error", "%s", message)
  vim.notify("MiniMax: " .. message, vim.log.levels.ERROR, { title = "MiniMax" })
end

return M
