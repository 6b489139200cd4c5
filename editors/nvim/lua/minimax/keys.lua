--- Insert-mode keys that act only when a suggestion is shown and otherwise fall through
--- to whatever the key did before (another plugin's mapping, or the key itself).
---
--- The mapping is an `expr` mapping: it returns either `<Cmd>…<CR>` (run in order with the
--- typeahead, without the text lock an expr mapping has) or the fallback keys, in key
--- notation (`replace_keycodes`), which is also what an earlier expr mapping returns
--- (e.g. Neovim's own `<Tab>` snippet mapping).

local M = {}

--- Earlier mappings we fall through to, by id (callbacks cannot be put in a key string).
---@type table<integer, table>
local previous = {}
local next_id = 0

---@param keys string
---@return string
local function termcodes(keys)
  return vim.api.nvim_replace_termcodes(keys, true, false, true)
end

--- Call a previous non-expr callback mapping (from the `<Cmd>` the fallback returned).
---@param id integer
function M.run_previous(id)
  local map = previous[id]
  if map and map.callback then
    map.callback()
  end
end

--- The keys that make `lhs` do what it did before our mapping.
---@param lhs string
---@param map table? `maparg(lhs, "i", false, true)` taken before we mapped it
---@return string
local function fallback(lhs, map)
  if not map or vim.tbl_isempty(map) then
    return lhs
  end
  if map.expr == 1 then
    if map.callback then
      return map.callback() or ""
    end
    return vim.api.nvim_eval(map.rhs)
  end
  if map.callback then
    next_id = next_id + 1
    previous[next_id] = map
    return ("<Cmd>lua require('minimax.keys').run_previous(%d)<CR>"):format(next_id)
  end
  if map.noremap == 0 then
    -- A recursive mapping (e.g. to a <Plug> map): replay it with remapping on.
    vim.api.nvim_feedkeys(termcodes(map.rhs), "m", false)
    return ""
  end
  return map.rhs
end

--- Map `lhs` in Insert mode for `bufnr`: when `active()` is true run `action`, else fall
--- through. Returns a function that removes the mapping again.
---@param bufnr integer
---@param lhs string|false
---@param active fun(): boolean
---@param action string Lua code run through `<Cmd>lua …<CR>` when active.
---@param desc string
---@return fun()
function M.map(bufnr, lhs, active, action, desc)
  if not lhs then
    return function() end
  end
  local before = vim.api.nvim_buf_call(bufnr, function()
    return vim.fn.maparg(lhs, "i", false, true)
  end)
  if before and before.desc and before.desc:find("^MiniMax:") then
    before = nil -- Our own mapping from an earlier attach: never fall through to it.
  end
  vim.keymap.set("i", lhs, function()
    if active() then
      return "<Cmd>lua " .. action .. "<CR>"
    end
    return fallback(lhs, before)
  end, { buffer = bufnr, expr = true, replace_keycodes = true, desc = "MiniMax: " .. desc })
  return function()
    pcall(vim.keymap.del, "i", lhs, { buffer = bufnr })
  end
end

return M
