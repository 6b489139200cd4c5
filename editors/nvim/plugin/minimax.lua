-- minimax.nvim entry point: the `:MiniMax` command, LspAttach hooks and highlights.
-- Everything else is loaded on first use; nothing starts until `setup()` or
-- `vim.lsp.enable("minimax")`.
if vim.g.loaded_minimax then
  return
end
vim.g.loaded_minimax = true

vim.api.nvim_create_user_command("MiniMax", function(opts)
  require("minimax.commands").run(opts)
end, {
  nargs = "+",
  range = true,
  bang = true,
  desc = "MiniMax: explain | refactor | chat | context | status | reindex",
  complete = function(arg_lead, cmdline)
    return require("minimax.commands").complete(arg_lead, cmdline)
  end,
})

local group = vim.api.nvim_create_augroup("minimax.plugin", { clear = true })

vim.api.nvim_create_autocmd("LspAttach", {
  group = group,
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    if client and client.name == "minimax" then
      require("minimax").on_attach(client, args.buf)
    end
  end,
})

vim.api.nvim_create_autocmd("LspDetach", {
  group = group,
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    if client and client.name == "minimax" then
      require("minimax").on_detach(args.buf)
    end
  end,
})

local function highlights()
  local hint = vim.fn.hlexists("ComplHint") == 1 and "ComplHint" or "Comment"
  vim.api.nvim_set_hl(0, "MiniMaxSuggestion", { link = hint, default = true })
end
highlights()
vim.api.nvim_create_autocmd("ColorScheme", { group = group, callback = highlights })
