--- `:MiniMax context`: the manifest of what a request at the cursor would send to the
--- model (`minimax.showContext`), as a readable table in a scratch buffer.
---
--- Manifest (docs/protocol.md): `{task, budget, tokens, items: [{path, start_line,
--- end_line, mode, tokens, reason}], uri, workspace, indexVersion}`, or for an ignored or
--- secret file `{inactive = true, reason, uri, message}`. `format()` is pure.

local M = {}

local COLUMNS = { "#", "path", "lines", "mode", "tokens", "reason" }
local RIGHT = { ["#"] = true, tokens = true }

---@param value any
---@return string
local function str(value)
  if value == nil or value == vim.NIL then
    return ""
  end
  return tostring(value)
end

---@param text string
---@param width integer
---@param right boolean
---@return string
local function pad(text, width, right)
  local fill = string.rep(" ", width - vim.fn.strdisplaywidth(text))
  return right and (fill .. text) or (text .. fill)
end

--- The lines of the table for a `minimax.showContext` result.
---@param manifest table
---@return string[]
function M.format(manifest)
  if manifest.inactive then
    return {
      "# MiniMax context",
      "",
      "Nothing is sent for this file: "
        .. str(manifest.message ~= nil and manifest.message or manifest.reason),
    }
  end
  local items = manifest.items or {}
  local rows = {}
  for i, item in ipairs(items) do
    local lines = item.start_line == item.end_line and str(item.start_line)
      or (str(item.start_line) .. "-" .. str(item.end_line))
    rows[#rows + 1] = {
      ["#"] = tostring(i),
      path = str(item.path),
      lines = lines,
      mode = str(item.mode),
      tokens = str(item.tokens),
      reason = str(item.reason),
    }
  end
  local widths = {}
  for _, column in ipairs(COLUMNS) do
    widths[column] = vim.fn.strdisplaywidth(column)
    for _, row in ipairs(rows) do
      widths[column] = math.max(widths[column], vim.fn.strdisplaywidth(row[column]))
    end
  end
  local function render(row)
    local cells = {}
    for _, column in ipairs(COLUMNS) do
      cells[#cells + 1] = pad(row[column], widths[column], RIGHT[column] == true)
    end
    return (table.concat(cells, "  "):gsub("%s+$", ""))
  end
  local header = {}
  for _, column in ipairs(COLUMNS) do
    header[column] = column
  end
  local out = {
    "# MiniMax context",
    "",
    ("task: %s   tokens: %s / %s   items: %d"):format(
      str(manifest.task),
      str(manifest.tokens),
      str(manifest.budget),
      #rows
    ),
  }
  if manifest.workspace and manifest.workspace ~= vim.NIL then
    out[#out + 1] = "workspace: " .. str(manifest.workspace)
  end
  out[#out + 1] = ""
  out[#out + 1] = render(header)
  local rule = {}
  for _, column in ipairs(COLUMNS) do
    rule[#rule + 1] = string.rep("-", widths[column])
  end
  out[#out + 1] = table.concat(rule, "  ")
  for _, row in ipairs(rows) do
    out[#out + 1] = render(row)
  end
  if #rows == 0 then
    out[#out + 1] = "(nothing packed)"
  end
  return out
end

--- Show the manifest in a new scratch buffer in a split.
---@param manifest table
---@return integer bufnr
function M.show(manifest)
  local bufnr = vim.api.nvim_create_buf(false, true)
  vim.bo[bufnr].bufhidden = "wipe"
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, M.format(manifest))
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].filetype = "minimax-context"
  pcall(vim.api.nvim_buf_set_name, bufnr, "minimax://context/" .. bufnr)
  vim.cmd("botright split")
  vim.api.nvim_win_set_buf(0, bufnr)
  vim.keymap.set(
    "n",
    "q",
    "<Cmd>close<CR>",
    { buffer = bufnr, nowait = true, desc = "MiniMax: close" }
  )
  return bufnr
end

return M
