-- setup(), the server start through vim.lsp.enable, :checkhealth, status, context, reindex.
local KEY = assert(os.getenv("MINIMAX_API_KEY"), "MINIMAX_API_KEY is not set")

local client, bufnr

return {
  {
    "config: defaults merged, lists replaced, bad values rejected",
    function()
      local config = require("minimax.config")
      local cfg, unknown =
        config.resolve({ cmd = { "my-lsp" }, inline = { debounce = 10 }, typo = 1 })
      T.eq(cfg.cmd, { "my-lsp" }, "a user list replaces the default list")
      T.eq(cfg.inline.debounce, 10, "nested value")
      T.eq(cfg.inline.keymaps.accept, "<Tab>", "untouched nested default")
      T.eq(unknown, { "typo" }, "unknown keys")
      T.eq(cfg.settings, {}, "no server settings by default")
      local ok, err = pcall(config.resolve, { inline = { debounce = "soon" } })
      T.ok(not ok, "an invalid debounce to fail")
      T.contains(tostring(err), "inline.debounce")
    end,
  },
  {
    "setup starts the server with only the user's settings",
    function()
      T.setup({ settings = { logLevel = "debug" } })
      client, bufnr = T.open("pkg/main.py")
      T.eq(client.name, "minimax", "client name")
      T.eq(client.config.init_options, { logLevel = "debug" }, "initializationOptions")
      T.eq(client.config.settings, { minimax = { logLevel = "debug" } }, "workspace settings")
      T.eq(client.root_dir, T.workspace, "root dir")
      -- The key is never part of what the client sends or stores.
      T.excludes(vim.inspect(client.config), KEY, "client config")
      T.ok(vim.lsp.is_enabled == nil or vim.lsp.is_enabled("minimax"), "vim.lsp.enable('minimax')")
    end,
  },
  {
    "statusline follows minimax/status",
    function()
      T.wait_ready()
      T.eq(require("minimax").statusline(), "MiniMax: ready", "statusline")
      require("minimax.status").update(client.id, { state = "indexing", message = "", files = 3 })
      T.eq(require("minimax").statusline(), "MiniMax: indexing 3 files", "statusline")
      require("minimax.status").update(client.id, {
        state = "ready",
        message = "Ready",
        usage = { requests = 3, inputTokens = 12000, outputTokens = 345 },
      })
      T.eq(require("minimax").statusline(), "MiniMax: ready · 3 req · 12.3k tok", "with usage")
      require("minimax.status").usage = nil
      vim.cmd("enew")
      T.eq(require("minimax").statusline(), "", "statusline in a buffer without the server")
      vim.cmd("buffer " .. bufnr)
    end,
  },
  {
    ":checkhealth minimax reports OK lines and never the key",
    function()
      vim.cmd("checkhealth minimax")
      local text = table.concat(T.lines(), "\n")
      T.contains(text, "OK found: minimax-lsp serve")
      T.contains(text, "OK version: minimax-lsp ")
      T.contains(text, "OK API key: MINIMAX_API_KEY is set")
      T.contains(text, "OK index: ready")
      T.contains(text, "OK server sees an API key")
      T.excludes(text, "ERROR", "health report")
      T.excludes(text, KEY, "health report")
      vim.cmd("bwipeout!")
      vim.cmd("buffer " .. bufnr)
    end,
  },
  {
    ":MiniMax status shows the state",
    function()
      vim.cmd("MiniMax status")
      local text = T.wait(function()
        local t = T.notes_text()
        return t:find("state:") and t
      end, "the status notification")
      T.contains(text, "state: ready")
      T.contains(text, "API key: present")
      T.contains(text, "files")
      T.excludes(text, KEY)
    end,
  },
  {
    ":MiniMax context shows the manifest as a table",
    function()
      vim.api.nvim_win_set_cursor(0, { 5, 4 })
      vim.cmd("MiniMax context")
      local _, ctx = T.wait(function()
        return T.find_window("^minimax://context/")
      end, "the context window")
      local _, buf = T.find_window("^minimax://context/")
      T.ok(ctx or buf, "context buffer")
      local lines = T.lines(buf)
      T.eq(lines[1], "# MiniMax context", "title")
      T.contains(lines, "task: complete")
      T.contains(lines, "#  path")
      T.contains(lines, "pkg/main.py")
      T.contains(lines, "pkg/util.py")
      vim.cmd("close")
    end,
  },
  {
    ":MiniMax reindex starts a refresh",
    function()
      vim.cmd("MiniMax reindex")
      T.wait(function()
        return T.notes_text():find("reindex")
      end, "the reindex notification")
      T.contains(T.notes_text(), "reindexing 1 folder(s)")
    end,
  },
  {
    "the help file has valid tags",
    function()
      local dir = vim.fn.tempname()
      vim.fn.mkdir(dir .. "/doc", "p")
      local plugin = os.getenv("MINIMAX_NVIM_PLUGIN")
      vim.fn.writefile(vim.fn.readfile(plugin .. "/doc/minimax.txt"), dir .. "/doc/minimax.txt")
      vim.cmd("helptags " .. vim.fn.fnameescape(dir .. "/doc")) -- raises on duplicate tags
      local tags = table.concat(vim.fn.readfile(dir .. "/doc/tags"), "\n")
      for _, tag in ipairs({
        ":MiniMax",
        "minimax-setup",
        "minimax-inline.keymaps",
        "minimax.statusline()",
      }) do
        T.contains(tags, tag .. "\t", "tags")
      end
      vim.opt.runtimepath:append(dir)
      vim.cmd("help :MiniMax-explain")
      T.eq(vim.bo.filetype, "help", "help buffer")
      T.contains(vim.api.nvim_get_current_line(), "*:MiniMax-explain*")
      vim.cmd("helpclose")
    end,
  },
  {
    "command completion",
    function()
      T.eq(vim.fn.getcompletion("MiniMax ex", "cmdline"), { "explain" }, "subcommands")
      T.eq(vim.fn.getcompletion("MiniMax context c", "cmdline"), { "complete", "chat" }, "tasks")
      pcall(vim.cmd, "MiniMax bogus")
      T.contains(T.notes_text(), 'unknown subcommand "bogus"')
    end,
  },
}
