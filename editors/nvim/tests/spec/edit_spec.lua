-- Edits: :MiniMax refactor and the code actions of vim.lsp.buf.code_action() go through
-- the normal workspace-edit path and undo in one step.
local REFACTORED = "    return a + b" -- the fake model's rewrite of pkg/calc.py (test_nvim.py)

local client, bufnr, original

local function text()
  return table.concat(T.lines(bufnr), "\n")
end

--- Code actions the server offers for lines 1-3 (0-based range).
local function code_actions()
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = { line = 0, character = 0 }, ["end"] = { line = 2, character = 0 } },
    context = { diagnostics = {} },
  }
  local response = client:request_sync("textDocument/codeAction", params, 10000, bufnr)
  T.ok(response and not response.err, "a codeAction answer")
  return response.result or {}
end

--- Apply the code action whose title starts with `title` through Neovim's own UI path.
local function apply_action(title)
  vim.lsp.buf.code_action({
    apply = true,
    range = { start = { 1, 0 }, ["end"] = { 3, 0 } },
    filter = function(action)
      return vim.startswith(action.title, title)
    end,
  })
end

return {
  {
    ":MiniMax refactor applies the edit; u undoes all of it",
    function()
      T.setup({})
      client, bufnr = T.open("pkg/calc.py")
      T.need_command(client, "minimax.refactor")
      original = text()
      local applied
      require("minimax").refactor("simplify", { line1 = 1, line2 = 3, range = 2 }, function(ok)
        applied = ok
      end)
      T.wait(function()
        return applied ~= nil
      end, "the refactor to finish", 20000)
      T.eq(applied, true, "applied")
      T.eq(T.lines(bufnr), { "def add(a, b):", REFACTORED }, "rewritten function")
      local changed = text()
      T.feed("u")
      T.eq(text(), original, "one undo restores the original")
      T.feed("<C-r>")
      T.eq(text(), changed, "redo")
      T.feed("u")
    end,
  },
  {
    "the server's code actions appear in vim.lsp.buf.code_action()",
    function()
      if not client.server_capabilities.codeActionProvider then
        T.skip("server feature textDocument/codeAction not implemented yet")
      end
      local titles = vim.tbl_map(function(action)
        return action.title
      end, code_actions())
      T.contains(titles, "MiniMax: Explain")
      T.contains(titles, "MiniMax: Refactor")
      T.contains(titles, "MiniMax: Add docstring")
    end,
  },
  {
    "a resolved code action applies its edit; u undoes it in one step",
    function()
      T.eq(text(), original, "start from the original")
      apply_action("MiniMax: Add docstring")
      T.wait(function()
        return text() ~= original
      end, "the code action's edit", 20000)
      T.eq(T.lines(bufnr), {
        "def add(a, b):",
        '    """Return the sum of a and b."""',
        "    result = a + b",
        "    return result",
      }, "the documented function")
      T.feed("u")
      T.eq(text(), original, "one undo restores the original")
    end,
  },
  {
    "the Explain code action shows its answer in a window",
    function()
      apply_action("MiniMax: Explain")
      local win = T.wait(function()
        return T.find_window("^minimax://answer/")
      end, "the answer window", 20000)
      local buf = vim.api.nvim_win_get_buf(win)
      T.wait(function()
        return table.concat(T.lines(buf), "\n"):find("MMX-EXPLAIN:", 1, true)
          and require("minimax.stream").count() == 0
      end, "the explanation", 20000)
      vim.api.nvim_win_close(win, true)
    end,
  },
}
