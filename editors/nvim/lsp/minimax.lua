-- `vim.lsp.enable("minimax")` (Neovim 0.11+) reads this file: the MiniMax language server
-- configured from `require("minimax").setup()` options, or the defaults.
-- Override fields as usual: `vim.lsp.config("minimax", { ... })`.
return require("minimax.client").lsp_config()
