--- The latest `minimax/status` from the server, for the statusline and `:MiniMax status`.
---
--- Payload (docs/protocol.md): `{state, message, files?, symbols?, uri?, usage?}`. Without
--- `uri` it is the server's overall state; with `uri` it is about one document (only
--- `inactive` is sent that way: an ignored or secret file, nothing of it is sent).
--- Each update redraws the statusline and fires `User MiniMaxStatus`. The statusline
--- text is the state, plus the session's requests and tokens once there are some.

local M = {}

---@class minimax.Status
---@field state string indexing|ready|error|inactive|spend-limit|offline|no-key|stopped
---@field message string
---@field files? integer
---@field symbols? integer
---@field usage? table

--- Overall status (the last one received from any MiniMax client).
---@type minimax.Status?
M.current = nil

--- The latest session usage the server reported (`usage` of a status).
---@type table?
M.usage = nil

--- Per-document statuses, by URI.
---@type table<string, minimax.Status>
M.documents = {}

local LABELS = {
  indexing = "indexing",
  ready = "ready",
  error = "error",
  inactive = "off for this file",
  ["spend-limit"] = "spend limit reached",
  offline = "offline",
  ["no-key"] = "no API key",
  stopped = "not running",
}

local function changed()
  vim.schedule(function()
    pcall(vim.cmd.redrawstatus)
    vim.api.nvim_exec_autocmds("User", { pattern = "MiniMaxStatus", modeline = false })
  end)
end

--- Record a `minimax/status` notification.
---@param _client_id integer
---@param params table
function M.update(_client_id, params)
  if type(params) ~= "table" or type(params.state) ~= "string" then
    return
  end
  ---@type minimax.Status
  local status = {
    state = params.state,
    message = type(params.message) == "string" and params.message or "",
    files = params.files,
    symbols = params.symbols,
    usage = params.usage,
  }
  if type(params.usage) == "table" then
    M.usage = params.usage
  end
  if type(params.uri) == "string" then
    M.documents[params.uri] = status
  else
    M.current = status
  end
  require("minimax.log").debug("status %s: %s", status.state, status.message)
  changed()
end

--- Record a client-side failure (server missing, crashed) as the overall status.
---@param message string
function M.set_error(message)
  M.current = { state = "error", message = message }
  changed()
end

--- The status line text for a buffer: "" when no MiniMax client is attached.
---@param bufnr? integer
---@return string
function M.statusline(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local attached = #vim.lsp.get_clients({ name = "minimax", bufnr = bufnr }) > 0
  if not attached then
    if M.current and M.current.state == "error" then
      return "MiniMax: error"
    end
    return ""
  end
  local uri = vim.uri_from_bufnr(bufnr)
  local document = M.documents[uri]
  if document and document.state == "inactive" then
    return "MiniMax: " .. LABELS.inactive
  end
  local current = M.current
  if not current then
    return "MiniMax"
  end
  local text = "MiniMax: " .. (LABELS[current.state] or current.state)
  if current.state == "indexing" and current.files then
    text = ("%s %d files"):format(text, current.files)
  end
  local usage = M.usage
  if usage and (tonumber(usage.requests) or 0) > 0 then
    local tokens = (tonumber(usage.inputTokens) or 0) + (tonumber(usage.outputTokens) or 0)
    text = ("%s · %d req · %s tok"):format(text, usage.requests, M.short_number(tokens))
  end
  return text
end

--- 950 -> "950", 12345 -> "12.3k", 4200000 -> "4.2M".
---@param n number
---@return string
function M.short_number(n)
  if n >= 1e6 then
    return ("%.1fM"):format(n / 1e6)
  elseif n >= 1e3 then
    return ("%.1fk"):format(n / 1e3)
  end
  return tostring(math.floor(n))
end

return M
