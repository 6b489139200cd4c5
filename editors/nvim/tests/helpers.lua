-- Test helpers for the headless specs (loaded by run.lua as the global `T`).
--
-- Waiting yields the runner's coroutine back to the event loop (`T.sleep`, `T.wait`), so
-- LSP messages, timers and fed keys are handled as in a real session.
local T = {}

--- Environment given by tests/nvim/test_nvim.py.
T.workspace = os.getenv("MINIMAX_NVIM_WORKSPACE") or vim.fn.getcwd()
T.fake_url = os.getenv("MINIMAX_BASE_URL")

--- Notifications shown with vim.notify during the current case: `{msg, level}`.
T.notes = {}

local real_notify = vim.notify
vim.notify = function(msg, level, opts)
  T.notes[#T.notes + 1] = { msg = tostring(msg), level = level or vim.log.levels.INFO }
  return real_notify(msg, level, opts)
end

function T._resume()
  local ok, code = coroutine.resume(T._co)
  if coroutine.status(T._co) == "dead" then
    T._finish(ok, code)
  elseif not ok then
    T._finish(false, code)
  end
end

--- Reset per-case state.
function T.reset()
  T.notes = {}
end

--- Yield to the event loop for `ms` milliseconds.
---@param ms integer
function T.sleep(ms)
  vim.defer_fn(T._resume, ms)
  coroutine.yield()
end

--- Wait until `cond()` returns a truthy value (returned), failing after `timeout` ms.
---@param cond fun(): any
---@param what string
---@param timeout? integer
---@return any
function T.wait(cond, what, timeout)
  local deadline = vim.uv.now() + (timeout or 8000)
  while true do
    local ok, value = pcall(cond)
    if ok and value then
      return value
    end
    if vim.uv.now() > deadline then
      error(
        ("timed out waiting for %s%s"):format(
          what,
          ok and "" or (" (last error: " .. tostring(value) .. ")")
        ),
        2
      )
    end
    T.sleep(15)
  end
end

--- Skip the current case (and, when every case skips, the whole spec).
---@param reason string
function T.skip(reason)
  error({ skip = reason }, 0)
end

---@param actual any
---@param expected any
---@param what? string
function T.eq(actual, expected, what)
  if not vim.deep_equal(actual, expected) then
    error(
      ("%s: expected %s, got %s"):format(
        what or "value",
        vim.inspect(expected),
        vim.inspect(actual)
      ),
      2
    )
  end
end

---@param value any
---@param what string
function T.ok(value, what)
  if not value then
    error("expected " .. what, 2)
  end
  return value
end

---@param haystack string|string[]
---@param needle string
---@param what? string
function T.contains(haystack, needle, what)
  local text = type(haystack) == "table" and table.concat(haystack, "\n") or haystack
  if not text:find(needle, 1, true) then
    error(("%s: %q not found in:\n%s"):format(what or "text", needle, text), 2)
  end
end

---@param haystack string|string[]
---@param needle string
---@param what? string
function T.excludes(haystack, needle, what)
  local text = type(haystack) == "table" and table.concat(haystack, "\n") or haystack
  if text:find(needle, 1, true) then
    error(("%s: %q must not appear in:\n%s"):format(what or "text", needle, text), 2)
  end
end

--- Lines of a buffer.
---@param bufnr? integer
---@return string[]
function T.lines(bufnr)
  return vim.api.nvim_buf_get_lines(bufnr or 0, 0, -1, false)
end

--- Feed keys as if typed (mappings apply), then let the loop process them.
---@param keys string
function T.feed(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), "mt", false)
  T.sleep(30)
end

--- `require("minimax").setup()` with test-friendly options merged in.
---@param opts? table
function T.setup(opts)
  local defaults = { log_level = "debug" }
  -- MINIMAX_NVIM_SERVER_CMD: run the specs against another server build (debugging).
  local override = os.getenv("MINIMAX_NVIM_SERVER_CMD")
  if override and override ~= "" then
    defaults.cmd = vim.split(override, " ", { trimempty = true })
  end
  opts = vim.tbl_deep_extend("force", defaults, opts or {})
  require("minimax").setup(opts)
end

--- Open a workspace file and wait until the MiniMax client is attached and initialized.
---@param rel string path relative to the workspace
---@return vim.lsp.Client client, integer bufnr
function T.open(rel)
  vim.cmd.edit(vim.fn.fnameescape(T.workspace .. "/" .. rel))
  local bufnr = vim.api.nvim_get_current_buf()
  local client = T.wait(function()
    local c = vim.lsp.get_clients({ name = "minimax", bufnr = bufnr })[1]
    return c and c.initialized and c
  end, "the minimax client to attach to " .. rel)
  return client, bufnr
end

--- Wait until the server reports its index ready with at least one file in it.
---@param timeout? integer
function T.wait_ready(timeout)
  T.wait(function()
    local current = require("minimax.status").current
    if not current or current.state ~= "ready" then
      return false
    end
    local files = tonumber(current.files) or tonumber(current.message:match("(%d+) files")) or 0
    return files > 0
  end, "the index to be ready", timeout or 20000)
end

--- The commands the server advertises.
---@param client vim.lsp.Client
---@return table<string, true>
function T.commands(client)
  local provider = client.server_capabilities.executeCommandProvider or {}
  local set = {}
  for _, name in ipairs(provider.commands or {}) do
    set[name] = true
  end
  return set
end

--- Skip unless the server advertises `command`.
---@param client vim.lsp.Client
---@param command string
function T.need_command(client, command)
  if not T.commands(client)[command] then
    T.skip(("server feature %s not implemented yet"):format(command))
  end
end

--- Floating or split windows showing a buffer whose name matches `pattern`.
---@param pattern string
---@return integer? winid, integer? bufnr
function T.find_window(pattern)
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    local buf = vim.api.nvim_win_get_buf(win)
    if vim.api.nvim_buf_get_name(buf):find(pattern) then
      return win, buf
    end
  end
  return nil, nil
end

--- All notification texts of this case.
---@return string
function T.notes_text()
  return table.concat(
    vim.tbl_map(function(n)
      return n.msg
    end, T.notes),
    "\n"
  )
end

return T
