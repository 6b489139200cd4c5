--- Extmark ghost text: the inline-suggestion fallback for Neovim < 0.12 (or when
--- `inline.native = false`).
---
--- Behaviour (copilot.lua's model):
--- * Typing or moving in Insert mode hides the current suggestion, cancels the request in
---   flight (`client:cancel_request`) and restarts a debounce timer (`inline.debounce` ms);
---   when it fires, one `textDocument/inlineCompletion` request is sent. Latest wins: an
---   answer for an older buffer state or cursor position is dropped.
--- * The suggestion is drawn at the cursor: its first line as inline virtual text, the
---   rest as virtual lines, in the `MiniMaxSuggestion` highlight (linked to `ComplHint`).
--- * While the completion popup menu is open nothing is shown or requested, so the two
---   never overlap; closing the menu asks again.
--- * Leaving Insert mode, leaving the buffer, `dismiss` or a cursor move hides it.
--- * Accepting all / a word / a line inserts that text; after a partial accept the rest
---   stays on screen without a new request.

local client_mod = require("minimax.client")
local log = require("minimax.log")
local suggestion = require("minimax.suggestion")

local M = {}

M.ns = vim.api.nvim_create_namespace("minimax.ghost")

---@class (private) minimax.GhostState
---@field client_id integer
---@field augroup integer
---@field timer? uv.uv_timer_t
---@field request_id? integer In-flight request.
---@field text? string What is left to insert at `pos`.
---@field pos? integer[] {row, col} (0-based) the suggestion belongs to.
---@field tick? integer changedtick the suggestion belongs to.
---@field unmap fun()[]

---@type table<integer, minimax.GhostState>
local buffers = {}

---@param state minimax.GhostState
local function stop_timer(state)
  local timer = state.timer
  state.timer = nil
  if timer and not timer:is_closing() then
    timer:stop()
    timer:close()
  end
end

---@param bufnr integer
---@param state minimax.GhostState
local function cancel(bufnr, state)
  stop_timer(state)
  if state.request_id then
    local client = vim.lsp.get_client_by_id(state.client_id)
    if client then
      client_mod.cancel(client, state.request_id)
    end
    log.debug("ghost: cancelled request %s in buffer %d", state.request_id, bufnr)
    state.request_id = nil
  end
end

---@param bufnr integer
local function hide(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
end

---@return integer[] {row, col} 0-based
local function cursor()
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  return { row - 1, col }
end

---@param bufnr integer
---@param state minimax.GhostState
local function show(bufnr, state)
  hide(bufnr)
  if not state.text or state.text == "" or vim.fn.pumvisible() == 1 then
    return
  end
  local lines = vim.split(state.text, "\n", { plain = true })
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { lines[i], "MiniMaxSuggestion" } }
  end
  local inline = vim.fn.has("nvim-0.10") == 1
  vim.api.nvim_buf_set_extmark(bufnr, M.ns, state.pos[1], state.pos[2], {
    virt_text = { { lines[1], "MiniMaxSuggestion" } },
    virt_text_pos = inline and "inline" or "overlay",
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = "combine",
    priority = 200,
  })
end

--- Whether a suggestion is shown in the buffer right now.
---@param bufnr? integer
---@return boolean
function M.visible(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local state = buffers[bufnr]
  if not state or not state.text or state.text == "" then
    return false
  end
  return #vim.api.nvim_buf_get_extmarks(bufnr, M.ns, 0, -1, { limit = 1 }) > 0
end

--- The suggestion text still to be inserted (nil when none is shown).
---@param bufnr? integer
---@return string?
function M.current(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  return M.visible(bufnr) and buffers[bufnr].text or nil
end

--- Hide the suggestion and cancel any request for it.
---@param bufnr? integer
function M.dismiss(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local state = buffers[bufnr]
  if state then
    cancel(bufnr, state)
    state.text = nil
  end
  hide(bufnr)
end

---@param bufnr integer
---@param state minimax.GhostState
---@param item table lsp.InlineCompletionItem
---@param client vim.lsp.Client
---@return string?
local function remaining_text(bufnr, state, item, client)
  local insert_text = item.insertText
  if type(insert_text) == "table" then
    insert_text = insert_text.value -- A snippet: shown and inserted as plain text.
  end
  if type(insert_text) ~= "string" then
    return nil
  end
  local typed = ""
  if item.range then
    local start = item.range.start
    local line = vim.api.nvim_buf_get_lines(bufnr, state.pos[1], state.pos[1] + 1, false)[1] or ""
    if start.line ~= state.pos[1] then
      return nil -- Multi-line replacements are not shown as ghost text.
    end
    local start_col = suggestion.byte_col(line, start.character, client.offset_encoding)
    typed = line:sub(start_col + 1, state.pos[2])
  end
  return suggestion.remaining(insert_text, typed)
end

---@param bufnr integer
local function request(bufnr)
  local state = buffers[bufnr]
  local client = state and vim.lsp.get_client_by_id(state.client_id)
  if not state or not client or bufnr ~= vim.api.nvim_get_current_buf() then
    return
  end
  if not vim.api.nvim_get_mode().mode:match("^i") or vim.fn.pumvisible() == 1 then
    return
  end
  local pos = cursor()
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = 2 } -- Automatic
  state.request_id = client_mod.request(
    client,
    "textDocument/inlineCompletion",
    params,
    function(err, result)
      state.request_id = nil
      if err then
        log.debug("ghost: inlineCompletion error: %s", client_mod.error_text(err))
        return
      end
      local items = result and (result.items or result) or {}
      -- Latest wins: drop an answer for a buffer state or position that has moved on.
      local now = vim.api.nvim_get_current_buf() == bufnr and cursor() or nil
      if
        not items[1]
        or not now
        or vim.api.nvim_buf_get_changedtick(bufnr) ~= tick
        or now[1] ~= pos[1]
        or now[2] ~= pos[2]
      then
        return
      end
      state.pos, state.tick = pos, tick
      state.text = remaining_text(bufnr, state, items[1], client)
      show(bufnr, state)
    end,
    bufnr
  )
end

---@param bufnr integer
local function schedule_request(bufnr)
  local state = buffers[bufnr]
  if not state then
    return
  end
  cancel(bufnr, state)
  local delay = require("minimax.config").get().inline.debounce
  local timer = assert(vim.uv.new_timer())
  state.timer = timer
  timer:start(delay, 0, function()
    vim.schedule(function()
      if state.timer == timer then
        stop_timer(state)
        request(bufnr)
      end
    end)
  end)
end

--- Typing or moving: keep the rest of a partly accepted suggestion, else start over.
---@param bufnr integer
local function on_change(bufnr)
  local state = buffers[bufnr]
  if not state then
    return
  end
  local pos = cursor()
  if
    state.text
    and state.tick == vim.api.nvim_buf_get_changedtick(bufnr)
    and state.pos[1] == pos[1]
    and state.pos[2] == pos[2]
  then
    show(bufnr, state) -- Our own partial accept (or a no-op event): keep showing it.
    return
  end
  state.text = nil
  hide(bufnr)
  schedule_request(bufnr)
end

--- Accept all, a word or a line of the suggestion.
---@param mode? "all"|"word"|"line"
---@return boolean accepted
function M.accept(mode)
  local bufnr = vim.api.nvim_get_current_buf()
  local state = buffers[bufnr]
  local text = M.current(bufnr)
  if not state or not text then
    return false
  end
  local part = suggestion.take(text, mode or "all")
  cancel(bufnr, state)
  hide(bufnr)
  suggestion.insert(part)
  local rest = text:sub(#part + 1)
  if rest ~= "" then
    state.text = rest
    state.pos = cursor()
    state.tick = vim.api.nvim_buf_get_changedtick(bufnr)
    show(bufnr, state)
  else
    state.text = nil
  end
  return true
end

--- Start ghost text for a buffer the MiniMax client is attached to.
---@param client vim.lsp.Client
---@param bufnr integer
function M.attach(client, bufnr)
  if buffers[bufnr] then
    return
  end
  local augroup = vim.api.nvim_create_augroup("minimax.ghost." .. bufnr, { clear = true })
  ---@type minimax.GhostState
  local state = { client_id = client.id, augroup = augroup, unmap = {} }
  buffers[bufnr] = state

  vim.api.nvim_create_autocmd({ "InsertEnter", "TextChangedI", "CursorMovedI" }, {
    group = augroup,
    buffer = bufnr,
    callback = function()
      on_change(bufnr)
    end,
  })
  -- The popup menu opened or changed: step aside (and stop asking) until it closes.
  vim.api.nvim_create_autocmd({ "CompleteChanged", "TextChangedP" }, {
    group = augroup,
    buffer = bufnr,
    callback = function()
      cancel(bufnr, state)
      hide(bufnr)
    end,
  })
  vim.api.nvim_create_autocmd("CompleteDone", {
    group = augroup,
    buffer = bufnr,
    callback = function()
      state.text = nil
      schedule_request(bufnr)
    end,
  })
  vim.api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, {
    group = augroup,
    buffer = bufnr,
    callback = function()
      M.dismiss(bufnr)
    end,
  })
  log.debug("ghost: attached to buffer %d", bufnr)
end

--- Stop ghost text in a buffer.
---@param bufnr integer
function M.detach(bufnr)
  local state = buffers[bufnr]
  if not state then
    return
  end
  M.dismiss(bufnr)
  pcall(vim.api.nvim_del_augroup_by_id, state.augroup)
  buffers[bufnr] = nil
end

--- Whether ghost text is active in a buffer.
---@param bufnr integer
---@return boolean
function M.attached(bufnr)
  return buffers[bufnr] ~= nil
end

return M
