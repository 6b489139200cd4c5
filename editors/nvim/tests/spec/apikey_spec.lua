-- api_key_cmd: the key reaches the server through its environment only — never an LSP
-- parameter, never Neovim's own environment after the spawn, never a log line (the
-- Python side scans every log file under the test's XDG dirs for the key).
local KEY = assert(os.getenv("MINIMAX_API_KEY"), "MINIMAX_API_KEY is not set")

return {
  {
    "the key from api_key_cmd reaches the server and nothing else",
    function()
      vim.env.MINIMAX_API_KEY = nil
      vim.env.MMX_TEST_KEY_SOURCE = KEY
      vim.lsp.log.set_level("debug") -- lsp.log records spawn parameters and messages
      T.setup({ api_key_cmd = { "printenv", "MMX_TEST_KEY_SOURCE" } })
      local client = T.open("pkg/main.py")
      T.eq(vim.env.MINIMAX_API_KEY, nil, "Neovim's own MINIMAX_API_KEY after the spawn")
      T.excludes(vim.inspect(client.config), KEY, "client config")
      local result = T.wait(function()
        local done
        require("minimax").status(function(r)
          done = r
        end)
        T.wait(function()
          return done
        end, "minimax.status")
        return done
      end, "minimax.status")
      T.eq(result.keyPresent, true, "server sees the key")
      T.excludes(vim.inspect(result), KEY, "status result")
    end,
  },
  {
    ":checkhealth names the key source, not the key",
    function()
      vim.cmd("checkhealth minimax")
      local text = table.concat(T.lines(), "\n")
      T.contains(text, "OK API key: from `api_key_cmd` (printenv)")
      T.contains(text, "OK server sees an API key")
      T.excludes(text, KEY)
      vim.cmd("bwipeout!")
    end,
  },
}
