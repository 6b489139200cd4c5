-- The extmark ghost-text fallback (forced with inline.native = false): debounce, cancel,
-- accept word / line / all, and stepping aside for the popup menu.
local EXPECTED = "value * 3" -- the fake model's completion (tests/nvim/test_nvim.py)

local ghost = require("minimax.ghost")
local client, bufnr
local requests, cancels = 0, 0

--- Text of the ghost extmark: inline part and virtual lines.
local function ghost_text()
  local marks = vim.api.nvim_buf_get_extmarks(bufnr, ghost.ns, 0, -1, { details = true })
  if not marks[1] then
    return nil
  end
  local details = marks[1][4]
  local parts = { details.virt_text[1][1] }
  for _, line in ipairs(details.virt_lines or {}) do
    parts[#parts + 1] = line[1][1]
  end
  return table.concat(parts, "\n")
end

--- Start a fresh line in Insert mode and wait for a suggestion.
local function suggest(typed)
  T.feed("<Esc>o" .. typed)
  return T.wait(ghost_text, "ghost text", 15000)
end

return {
  {
    "the fallback path is used when native is off",
    function()
      T.setup({ inline = { native = false, debounce = 60 } })
      client, bufnr = T.open("pkg/util.py")
      vim.bo[bufnr].autoindent = false -- the lines typed below carry their own indent
      if not client.server_capabilities.inlineCompletionProvider then
        T.skip("server feature textDocument/inlineCompletion not implemented yet")
      end
      T.eq(require("minimax.inline").mode(bufnr), "ghost", "inline path")
      if vim.lsp.inline_completion then
        T.ok(not vim.lsp.inline_completion.is_enabled({ bufnr = bufnr }), "native completion off")
      end
      -- Count what the fallback sends, to check debounce and cancellation.
      local request, cancel = client.request, client.cancel_request
      client.request = function(self, method, ...)
        if method == "textDocument/inlineCompletion" then
          requests = requests + 1
        end
        return request(self, method, ...)
      end
      client.cancel_request = function(self, ...)
        cancels = cancels + 1
        return cancel(self, ...)
      end
    end,
  },
  {
    "typing quickly sends one request after the debounce",
    function()
      vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(bufnr), 0 })
      requests = 0
      T.feed("o")
      for _, key in ipairs({ "t", "o", "t", "a", "l" }) do
        vim.api.nvim_feedkeys(key, "t", false)
        T.sleep(10)
      end
      T.sleep(20)
      T.eq(requests, 0, "requests while typing")
      T.feed(" = ")
      local text = T.wait(ghost_text, "ghost text", 15000)
      T.eq(requests, 1, "requests after the pause")
      T.contains(text, EXPECTED, "ghost text")
      T.ok(ghost.visible(bufnr), "visible()")
    end,
  },
  {
    "typing while a request is in flight cancels it and drops its answer",
    function()
      local sent, cancelled = requests, cancels
      T.feed("<Esc>o    total = ")
      -- The fake model answers completions slowly (test_nvim.py), so this lands mid-flight.
      T.wait(function()
        return requests > sent
      end, "the request to be sent")
      T.feed("x")
      T.eq(cancels, cancelled + 1, "cancel_request calls")
      T.eq(ghost_text(), nil, "no suggestion for the old position")
      local text = T.wait(ghost_text, "a suggestion for the new position", 15000)
      T.contains(text, EXPECTED)
      T.eq(vim.api.nvim_get_current_line(), "    total = x", "the buffer is untouched")
    end,
  },
  {
    "accept word, then line, keeps the rest on screen",
    function()
      local full = suggest("    total = ")
      T.feed("<M-Right>")
      local line = vim.api.nvim_get_current_line()
      T.eq(line, "    total = value", "line after accepting a word")
      local rest = T.ok(ghost_text(), "the rest of the suggestion still shown")
      T.eq("value" .. rest, full, "remaining text")
      T.feed("<M-Down>")
      T.contains(
        vim.api.nvim_get_current_line(),
        "total = " .. EXPECTED,
        "line after accepting the line"
      )
    end,
  },
  {
    "<Tab> accepts the whole suggestion and falls through without one",
    function()
      local full = suggest("    total = ")
      T.feed("<Tab>")
      T.eq(ghost_text(), nil, "ghost text after accepting")
      local text = table.concat(T.lines(bufnr), "\n")
      T.contains(text, "    total = " .. full, "buffer after accepting")
      T.feed("<Esc>o")
      T.feed("<Tab>")
      T.eq(vim.api.nvim_get_current_line():sub(-1), "\t", "a plain Tab")
    end,
  },
  {
    "the popup menu hides the suggestion",
    function()
      suggest("    total = ")
      T.feed("<C-n>")
      T.wait(function()
        return vim.fn.pumvisible() == 1
      end, "the popup menu")
      T.eq(ghost_text(), nil, "ghost text while the menu is open")
      T.ok(not require("minimax.inline").visible(bufnr), "no suggestion while the menu is open")
      T.feed("<C-e>")
    end,
  },
  {
    "<C-]>, a cursor move and leaving Insert mode dismiss it",
    function()
      suggest("    total = ")
      T.feed("<C-]>")
      T.eq(ghost_text(), nil, "after <C-]>")
      T.feed("x<BS>")
      T.wait(ghost_text, "a new suggestion", 15000)
      T.feed("<Left>")
      T.eq(ghost_text(), nil, "after a cursor move")
      T.feed("<End>")
      T.wait(ghost_text, "a new suggestion", 15000)
      T.feed("<Esc>")
      T.eq(ghost_text(), nil, "after leaving Insert mode")
    end,
  },
}
