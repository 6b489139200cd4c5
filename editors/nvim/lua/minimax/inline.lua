--- Inline suggestions for a buffer: Neovim's own `vim.lsp.inline_completion` on 0.12+,
--- the extmark fallback (`minimax.ghost`) otherwise or when `inline.native = false`.
---
--- Keys (buffer-local, Insert mode, `inline.keymaps`): each acts only while a suggestion
--- is shown and the popup menu is closed, and otherwise falls through to what the key
--- did before (so `<Tab>` still indents or drives the completion menu).

local ghost = require("minimax.ghost")
local keys = require("minimax.keys")
local suggestion = require("minimax.suggestion")

local M = {}

--- Namespace of Neovim's inline-completion ghost text (hidden while the menu is open).
local NATIVE_NS = "nvim.lsp.inline_completion"

---@type table<integer, { native: boolean, unmap: fun()[], augroup?: integer, paused?: boolean }>
local buffers = {}

--- Whether the native inline-completion API is available and wanted.
---@return boolean
function M.native_available()
  local cfg = require("minimax.config").get()
  return cfg.inline.native and vim.lsp.inline_completion ~= nil
end

---@param bufnr integer
---@return boolean
local function native_visible(bufnr)
  local ns = vim.api.nvim_get_namespaces()[NATIVE_NS]
  return ns ~= nil and #vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { limit = 1 }) > 0
end

--- Whether a suggestion is shown in the buffer (either path).
---@param bufnr? integer
---@return boolean
function M.visible(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local entry = buffers[bufnr]
  if not entry or vim.fn.pumvisible() == 1 then
    return false
  end
  if entry.native then
    return native_visible(bufnr)
  end
  return ghost.visible(bufnr)
end

--- Insert a part of a native item (the `on_accept` of `inline_completion.get()`).
---@param item vim.lsp.inline_completion.Item
---@param mode "all"|"word"|"line"
local function accept_native_part(item, mode)
  local text = item.insert_text
  if type(text) ~= "string" then
    text = text.value
  end
  local typed = ""
  if item.range then
    local row, col = unpack(vim.api.nvim_win_get_cursor(0))
    local start = item.range.start
    if start.row == row - 1 and start.col <= col then
      typed = vim.api.nvim_get_current_line():sub(start.col + 1, col)
    end
  end
  local rest = suggestion.remaining(text, typed)
  if rest then
    suggestion.insert(suggestion.take(rest, mode))
  end
end

--- Accept the shown suggestion, or the next word or line of it.
---@param mode? "all"|"word"|"line"
---@return boolean accepted
function M.accept(mode)
  mode = mode or "all"
  local bufnr = vim.api.nvim_get_current_buf()
  local entry = buffers[bufnr]
  if not entry then
    return false
  end
  if not entry.native then
    return ghost.accept(mode)
  end
  if mode == "all" then
    return vim.lsp.inline_completion.get({ bufnr = bufnr })
  end
  return vim.lsp.inline_completion.get({
    bufnr = bufnr,
    on_accept = function(item)
      accept_native_part(item, mode)
    end,
  })
end

--- Hide the shown suggestion.
function M.dismiss()
  local bufnr = vim.api.nvim_get_current_buf()
  local entry = buffers[bufnr]
  if not entry then
    return
  end
  if entry.native then
    -- The native API has no "dismiss": re-enabling resets its state (and the ghost text);
    -- it asks again on the next edit as usual.
    vim.lsp.inline_completion.enable(false, { bufnr = bufnr })
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  else
    ghost.dismiss(bufnr)
  end
end

--- Show the next (count 1) or previous (-1) candidate (native path).
---@param count integer
function M.select(count)
  local bufnr = vim.api.nvim_get_current_buf()
  local entry = buffers[bufnr]
  if entry and entry.native then
    vim.lsp.inline_completion.select({ bufnr = bufnr, count = count })
  end
end

---@param bufnr integer
---@param native boolean
---@return fun()[]
local function map_keys(bufnr, native)
  local km = require("minimax.config").get().inline.keymaps
  local function active()
    return M.visible(bufnr)
  end
  local unmap = {
    keys.map(
      bufnr,
      km.accept,
      active,
      "require('minimax.inline').accept('all')",
      "accept suggestion"
    ),
    keys.map(
      bufnr,
      km.accept_word,
      active,
      "require('minimax.inline').accept('word')",
      "accept word"
    ),
    keys.map(
      bufnr,
      km.accept_line,
      active,
      "require('minimax.inline').accept('line')",
      "accept line"
    ),
    keys.map(
      bufnr,
      km.dismiss,
      active,
      "require('minimax.inline').dismiss()",
      "dismiss suggestion"
    ),
  }
  if native then
    unmap[#unmap + 1] =
      keys.map(bufnr, km.next, active, "require('minimax.inline').select(1)", "next suggestion")
    unmap[#unmap + 1] = keys.map(
      bufnr,
      km.prev,
      active,
      "require('minimax.inline').select(-1)",
      "previous suggestion"
    )
  end
  return unmap
end

--- Start inline suggestions for a buffer the MiniMax client attached to.
---@param client vim.lsp.Client
---@param bufnr integer
function M.attach(client, bufnr)
  local cfg = require("minimax.config").get()
  if buffers[bufnr] or not cfg.inline.enabled then
    return
  end
  if not (client.server_capabilities or {}).inlineCompletionProvider then
    require("minimax.log").info("server offers no inline completion; ghost text off")
    return
  end
  local native = M.native_available()
  local entry = { native = native, unmap = {} }
  buffers[bufnr] = entry
  if native then
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
    -- Neovim's ghost text does not step aside for the popup menu by itself (it even
    -- asks again on TextChangedP): switch it off while the menu is open.
    entry.augroup = vim.api.nvim_create_augroup("minimax.inline." .. bufnr, { clear = true })
    vim.api.nvim_create_autocmd("CompleteChanged", {
      group = entry.augroup,
      buffer = bufnr,
      callback = function()
        if not entry.paused then
          entry.paused = true
          vim.lsp.inline_completion.enable(false, { bufnr = bufnr })
        end
      end,
    })
    vim.api.nvim_create_autocmd({ "CompleteDone", "InsertLeave" }, {
      group = entry.augroup,
      buffer = bufnr,
      callback = function()
        if entry.paused and buffers[bufnr] == entry then
          entry.paused = false
          vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
        end
      end,
    })
  else
    ghost.attach(client, bufnr)
  end
  entry.unmap = map_keys(bufnr, native)
  require("minimax.log").debug(
    "inline: %s path for buffer %d",
    native and "native" or "ghost",
    bufnr
  )
end

--- Stop inline suggestions in a buffer (the client detached).
---@param bufnr integer
function M.detach(bufnr)
  local entry = buffers[bufnr]
  if not entry then
    return
  end
  buffers[bufnr] = nil
  for _, unmap in ipairs(entry.unmap) do
    unmap()
  end
  if entry.augroup then
    pcall(vim.api.nvim_del_augroup_by_id, entry.augroup)
  end
  if entry.native then
    pcall(vim.lsp.inline_completion.enable, false, { bufnr = bufnr })
  else
    ghost.detach(bufnr)
  end
end

--- Which path a buffer uses: "native", "ghost" or nil when off.
---@param bufnr? integer
---@return "native"|"ghost"|nil
function M.mode(bufnr)
  local entry = buffers[bufnr or vim.api.nvim_get_current_buf()]
  if not entry then
    return nil
  end
  return entry.native and "native" or "ghost"
end

return M
