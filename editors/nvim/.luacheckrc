-- luacheck configuration for the Neovim plugin (run by scripts/lint.sh).
std = "luajit"
globals = { "vim" }
-- stylua wraps code at 100 columns; LuaCATS annotations cannot wrap, so comments are free.
max_line_length = 120
max_comment_line_length = false
-- Methods need not use `self`.
self = false

-- Specs run inside tests/run.lua, which provides the helper table `T` as a global.
files["tests/spec"] = { read_globals = { "T" } }
files["tests/run.lua"] = { globals = { "T" } }
