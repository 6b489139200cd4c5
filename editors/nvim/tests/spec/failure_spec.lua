-- A server that cannot start is reported cleanly: one short message, health errors, no
-- Lua traceback, and the editor keeps working.
return {
  {
    "a missing server executable is reported without a traceback",
    function()
      T.setup({ cmd = { "/nonexistent/minimax-lsp", "serve" } })
      vim.cmd.edit(vim.fn.fnameescape(T.workspace .. "/pkg/main.py"))
      T.wait(function()
        return require("minimax.client").start_error
      end, "the start failure to be recorded")
      T.wait(function()
        return T.notes_text():find("not an executable", 1, true)
      end, "the failure notification")
      local text = T.notes_text()
      T.contains(text, "MiniMax: cannot start the language server")
      T.contains(text, "/nonexistent/minimax-lsp")
      T.excludes(text, "traceback")
      T.excludes(text, ".lua:")
      T.eq(#vim.lsp.get_clients({ name = "minimax" }), 0, "running clients")
      T.wait(function()
        return require("minimax").statusline() == "MiniMax: error"
      end, "the statusline to show the error")
    end,
  },
  {
    "no retry storm: another file does not warn again",
    function()
      T.sleep(50)
      T.reset()
      vim.cmd.edit(vim.fn.fnameescape(T.workspace .. "/pkg/util.py"))
      T.sleep(200)
      T.excludes(T.notes_text(), "cannot start", "notifications after the first failure")
    end,
  },
  {
    "commands say why they cannot run",
    function()
      pcall(vim.cmd, "MiniMax status")
      T.contains(T.notes_text(), "not an executable")
      T.excludes(T.notes_text(), "traceback")
    end,
  },
  {
    ":checkhealth minimax reports the error",
    function()
      vim.cmd("checkhealth minimax")
      local text = table.concat(T.lines(), "\n")
      T.contains(text, "ERROR cannot start the language server")
      T.contains(text, "pipx install minimax-lsp")
      T.contains(text, "server not running")
      T.excludes(text, "traceback")
      vim.cmd("bwipeout!")
    end,
  },
  {
    "a failing api_key_cmd is reported without its output",
    function()
      local client_mod = require("minimax.client")
      client_mod.start_error = nil
      T.reset()
      T.setup({ api_key_cmd = { "sh", "-c", "echo sk-should-not-leak; exit 3" } })
      vim.cmd.edit(vim.fn.fnameescape(T.workspace .. "/pkg/calc.py"))
      T.wait(function()
        return client_mod.start_error
      end, "the api_key_cmd failure")
      T.contains(client_mod.start_error, 'api_key_cmd "sh" failed (exit code 3)')
      T.wait(function()
        return T.notes_text():find("api_key_cmd", 1, true)
      end, "the failure notification")
      T.excludes(T.notes_text(), "sk-should-not-leak")
      T.eq(#vim.lsp.get_clients({ name = "minimax" }), 0, "running clients")
    end,
  },
}
