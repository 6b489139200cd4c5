--- Pure helpers for inline suggestions: what is left to insert at the cursor, and how
--- much of it "accept word" and "accept line" take. Shared by the native path and the
--- extmark fallback; no editor state is read here except in `insert()`.

local M = {}

--- The part of an item's text still to be inserted at the cursor.
---
--- `typed` is the buffer text between the item's range start and the cursor (empty when
--- the item has no range). Returns nil when the item does not continue what is typed.
---@param insert_text string
---@param typed string
---@return string?
function M.remaining(insert_text, typed)
  if typed == "" then
    return insert_text
  end
  if insert_text:sub(1, #typed) == typed then
    return insert_text:sub(#typed + 1)
  end
  return nil
end

--- The next word of `text`: leading blanks plus one run of word characters, or of
--- punctuation. A leading line break takes the break and the next line's indentation.
---@param text string
---@return string
function M.next_word(text)
  local newline = text:match("^\r?\n[ \t]*")
  if newline then
    return newline
  end
  return text:match("^[ \t]*[%w_]+")
    or text:match("^[ \t]*[^%w_%s]+")
    or text:match("^[ \t]+")
    or text:sub(1, 1)
end

--- The rest of the current line of `text` (without its line break). When `text` starts
--- with a line break, that break and the whole next line.
---@param text string
---@return string
function M.next_line(text)
  local newline = text:match("^\r?\n")
  if newline then
    return newline .. (text:sub(#newline + 1):match("^[^\r\n]*") or "")
  end
  return text:match("^[^\r\n]*") or text
end

--- The part of `text` that `mode` accepts.
---@param text string
---@param mode "all"|"word"|"line"
---@return string
function M.take(text, mode)
  if mode == "word" then
    return M.next_word(text)
  elseif mode == "line" then
    return M.next_line(text)
  end
  return text
end

--- Byte column of an LSP `character` offset in `line` (0-based, clamped to the line).
---@param line string
---@param character integer
---@param encoding string "utf-8"|"utf-16"|"utf-32"
---@return integer
function M.byte_col(line, character, encoding)
  if encoding == "utf-8" then
    return math.min(character, #line)
  end
  local ok, col
  if vim.fn.has("nvim-0.11") == 1 then
    ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  else
    ---@diagnostic disable-next-line: param-type-mismatch
    ok, col = pcall(vim.str_byteindex, line, character, encoding == "utf-16")
  end
  return ok and col or #line
end

--- Insert `text` at the cursor of the current window and move the cursor after it.
---@param text string
function M.insert(text)
  if text == "" then
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local normalized = text:gsub("\r\n", "\n")
  local lines = vim.split(normalized, "\n", { plain = true })
  vim.api.nvim_buf_set_text(bufnr, row - 1, col, row - 1, col, lines)
  local last = lines[#lines]
  local new_col = (#lines == 1 and col or 0) + #last
  vim.api.nvim_win_set_cursor(0, { row + #lines - 1, new_col })
end

return M
