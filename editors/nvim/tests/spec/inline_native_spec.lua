-- Inline suggestions through Neovim's own vim.lsp.inline_completion (0.12+).
local EXPECTED = "value * 3" -- the fake model's completion (tests/nvim/test_nvim.py)

local NATIVE_NS = "nvim.lsp.inline_completion"

local function ghost_text(bufnr)
  local ns = vim.api.nvim_get_namespaces()[NATIVE_NS]
  if not ns then
    return nil
  end
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true })) do
    local chunks = mark[4].virt_text or {}
    local text = table.concat(vim.tbl_map(function(c)
      return c[1]
    end, chunks))
    if text ~= "" then
      return text
    end
  end
  return nil
end

local client, bufnr

return {
  {
    "vim.lsp.enable('minimax') alone starts the server with native inline completion",
    function()
      if vim.lsp.inline_completion == nil then
        T.skip("Neovim without vim.lsp.inline_completion")
      end
      -- No setup(): the plain Neovim 0.11+ way, through the plugin's lsp/minimax.lua.
      local override = os.getenv("MINIMAX_NVIM_SERVER_CMD")
      if override and override ~= "" then
        vim.lsp.config("minimax", { cmd = vim.split(override, " ", { trimempty = true }) })
      end
      vim.lsp.enable("minimax")
      client, bufnr = T.open("pkg/util.py")
      T.eq(require("minimax.config")._current, nil, "setup() was not called")
      vim.bo[bufnr].autoindent = false -- the lines typed below carry their own indent
      if not client.server_capabilities.inlineCompletionProvider then
        T.skip("server feature textDocument/inlineCompletion not implemented yet")
      end
      T.eq(require("minimax.inline").mode(bufnr), "native", "inline path")
      T.ok(vim.lsp.inline_completion.is_enabled({ bufnr = bufnr }), "inline completion enabled")
    end,
  },
  {
    "<Tab> falls through when no suggestion is shown",
    function()
      T.feed("Go<Tab>")
      T.eq(vim.api.nvim_get_current_line():sub(-1), "\t", "a plain Tab was inserted")
      T.feed("<Esc>")
      vim.cmd("silent! undo")
    end,
  },
  {
    "ghost text appears and <Tab> accepts it",
    function()
      vim.api.nvim_buf_set_lines(bufnr, -1, -1, false, { "" })
      vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(bufnr), 0 })
      T.feed("A    total = ")
      local text = T.wait(function()
        return ghost_text(bufnr)
      end, "native ghost text", 15000)
      T.contains(text, EXPECTED, "ghost text")
      T.ok(require("minimax.inline").visible(bufnr), "visible() to see the native suggestion")
      T.feed("<Tab>")
      T.wait(function()
        return table.concat(T.lines(bufnr), "\n"):find("total = " .. EXPECTED, 1, true)
      end, "the suggestion to be inserted")
      T.feed("<Esc>")
    end,
  },
  {
    "the completion menu hides the ghost text and keeps <Tab>",
    function()
      T.feed("o    total = ")
      T.wait(function()
        return ghost_text(bufnr)
      end, "native ghost text", 15000)
      T.feed("<C-n>")
      T.wait(function()
        return vim.fn.pumvisible() == 1
      end, "the popup menu")
      T.wait(function()
        return ghost_text(bufnr) == nil
      end, "the ghost text to step aside")
      T.ok(not require("minimax.inline").visible(bufnr), "no suggestion while the menu is open")
      T.feed("<C-e><Esc>")
    end,
  },
}
