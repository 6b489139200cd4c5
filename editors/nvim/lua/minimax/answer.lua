--- Answer windows: a markdown scratch buffer in a float or a split that shows a streamed
--- answer live, then the final text.
---
--- Keys in the window (configurable, `answer.keymaps`): `q` closes it, `<CR>` keeps it
--- as a normal listed buffer in a split (the float closes). The buffer is `nofile`, so
--- keeping it never asks to save; `:saveas` works when the user wants a file.

local M = {}

---@class minimax.Answer
---@field bufnr integer
---@field winid integer
---@field title string
---@field kept boolean
---@field text string What has been shown so far.
---@field done boolean
---@field conversation_id? string Set for chat answers.
local Answer = {}
Answer.__index = Answer

local counter = 0

---@param size number
---@param total integer
---@return integer
local function dimension(size, total)
  local n = size <= 1 and math.floor(total * size) or math.floor(size)
  return math.max(10, math.min(n, total - 2))
end

---@param cfg minimax.AnswerConfig
---@param bufnr integer
---@param title string
---@return integer winid
local function open_window(cfg, bufnr, title)
  if cfg.layout == "float" then
    local width = dimension(cfg.width, vim.o.columns)
    local height = dimension(cfg.height, vim.o.lines - vim.o.cmdheight - 1)
    return vim.api.nvim_open_win(bufnr, true, {
      relative = "editor",
      width = width,
      height = height,
      row = math.floor((vim.o.lines - height) / 2) - 1,
      col = math.floor((vim.o.columns - width) / 2),
      style = "minimal",
      border = cfg.border,
      title = " " .. title .. " ",
      title_pos = "center",
    })
  end
  vim.cmd((cfg.layout == "vsplit" and "vertical " or "") .. "botright split")
  local winid = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_buf(winid, bufnr)
  return winid
end

---@param bufnr integer
---@param lines string[]
local function set_lines(bufnr, lines)
  vim.bo[bufnr].modifiable = true
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].modified = false
end

--- Open an answer window with a "waiting" line.
---@param title string e.g. "MiniMax: explain"
---@return minimax.Answer
function M.open(title)
  local cfg = require("minimax.config").get().answer
  counter = counter + 1
  local bufnr = vim.api.nvim_create_buf(false, true)
  vim.bo[bufnr].filetype = "markdown"
  vim.bo[bufnr].bufhidden = "wipe"
  pcall(vim.api.nvim_buf_set_name, bufnr, ("minimax://answer/%d"):format(counter))
  set_lines(bufnr, { "_" .. title .. ": waiting for the model…_" })
  local winid = open_window(cfg, bufnr, title)
  vim.wo[winid].wrap = true
  vim.wo[winid].linebreak = true
  vim.wo[winid].conceallevel = 2

  local self = setmetatable({
    bufnr = bufnr,
    winid = winid,
    title = title,
    kept = false,
    text = "",
    done = false,
  }, Answer)
  vim.keymap.set("n", cfg.keymaps.close, function()
    self:close()
  end, { buffer = bufnr, nowait = true, desc = "MiniMax: close the answer" })
  vim.keymap.set("n", cfg.keymaps.keep, function()
    self:keep()
  end, { buffer = bufnr, nowait = true, desc = "MiniMax: keep the answer as a buffer" })
  return self
end

---@return boolean
function Answer:valid()
  return vim.api.nvim_buf_is_valid(self.bufnr)
end

---@private
function Answer:render()
  if not self:valid() then
    return
  end
  set_lines(self.bufnr, vim.split(self.text, "\n", { plain = true }))
  -- Follow the stream, as a terminal would, unless the user moved away.
  if
    vim.api.nvim_win_is_valid(self.winid) and vim.api.nvim_win_get_buf(self.winid) == self.bufnr
  then
    local last = vim.api.nvim_buf_line_count(self.bufnr)
    pcall(vim.api.nvim_win_set_cursor, self.winid, { last, 0 })
  end
end

--- Append streamed answer text.
---@param text string
function Answer:append(text)
  if self.done then
    return
  end
  self.text = self.text .. text
  self:render()
end

--- Replace the streamed text with the final answer.
---@param markdown string
function Answer:finish(markdown)
  self.done = true
  self.text = markdown
  self:render()
end

--- Show an error in the window.
---@param message string
function Answer:fail(message)
  self.done = true
  local body = self.text ~= "" and (self.text .. "\n\n") or ""
  self.text = body .. "> **Error:** " .. message
  self:render()
end

--- Close the window (and, unless kept, the buffer).
function Answer:close()
  if vim.api.nvim_win_is_valid(self.winid) then
    pcall(vim.api.nvim_win_close, self.winid, true)
  end
end

--- Turn the scratch answer into a normal listed buffer shown in a split.
function Answer:keep()
  if not self:valid() or self.kept then
    return
  end
  self.kept = true
  vim.bo[self.bufnr].bufhidden = "hide"
  vim.bo[self.bufnr].buflisted = true
  vim.bo[self.bufnr].modifiable = true
  local was_float = vim.api.nvim_win_is_valid(self.winid)
    and vim.api.nvim_win_get_config(self.winid).relative ~= ""
  if was_float then
    vim.api.nvim_win_close(self.winid, true)
    vim.cmd("botright split")
    self.winid = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(self.winid, self.bufnr)
  end
  pcall(vim.keymap.del, "n", require("minimax.config").get().answer.keymaps.keep, {
    buffer = self.bufnr,
  })
end

return M
