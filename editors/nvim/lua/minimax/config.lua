--- The plugin's configuration: one defaults table, merged with the user's options.
---
--- `setup(opts)` stores the merged result; every other module reads it through
--- `require("minimax.config").get()`, so there is exactly one place where a default lives
--- (copilot.lua kept two defaults for its debounce, in two files; we keep one).
---
--- Server settings (`settings`) are *not* defaulted here: the server owns those defaults
--- (docs/settings.md), and the plugin sends only what the user wrote.

---@alias minimax.LogLevel "trace"|"debug"|"info"|"warn"|"error"|"off"

---@class (exact) minimax.InlineKeymaps
---@field accept string|false Accept the whole suggestion (falls through when none is shown).
---@field accept_word string|false Accept the next word of the suggestion.
---@field accept_line string|false Accept the rest of the suggestion's current line.
---@field dismiss string|false Hide the suggestion.
---@field next string|false Show the next candidate (native inline completion only).
---@field prev string|false Show the previous candidate (native inline completion only).

---@class (exact) minimax.InlineConfig
---@field enabled boolean Show inline suggestions (ghost text) in Insert mode.
---@field native boolean Use Neovim's `vim.lsp.inline_completion` when it exists (0.12+); false forces the extmark fallback.
---@field debounce integer Milliseconds of quiet before the fallback asks for a suggestion.
---@field keymaps minimax.InlineKeymaps Insert-mode keys; false disables one.

---@class (exact) minimax.AnswerKeymaps
---@field close string Close the answer window.
---@field keep string Keep the answer as a normal, listed buffer.

---@class (exact) minimax.AnswerConfig
---@field layout "float"|"split"|"vsplit" Where streamed answers (explain, chat) are shown.
---@field width number Float width: a fraction of the editor (<= 1) or columns.
---@field height number Float height: a fraction of the editor (<= 1) or lines.
---@field border string|string[] Float border (see `nvim_open_win()`).
---@field show_thinking boolean Also show the model's thinking while it streams.
---@field keymaps minimax.AnswerKeymaps Buffer-local keys in the answer window.

---@class (exact) minimax.Config
---@field cmd string[] The server command; when it is the default and `minimax-lsp` is not on PATH, `python3 -m minimax_lsp serve` is tried.
---@field api_key_cmd string[]|false A command (no shell) whose output is the API key; passed only in the server's environment.
---@field env table<string, string> Extra environment for the server process (e.g. `MINIMAX_BASE_URL`).
---@field settings table<string, any> Server settings, camelCase as in docs/settings.md; only these are sent.
---@field root_markers string[] Files or folders that mark a workspace root (else the current directory).
---@field filetypes string[]|false Only attach to these filetypes; false attaches to every file buffer.
---@field inline minimax.InlineConfig
---@field answer minimax.AnswerConfig
---@field log_level minimax.LogLevel Minimum level written to the log file (`stdpath("log")/minimax.log`).

---@class minimax.UserConfig
---@field cmd? string[]
---@field api_key_cmd? string[]|false
---@field env? table<string, string>
---@field settings? table<string, any>
---@field root_markers? string[]
---@field filetypes? string[]|false
---@field inline? { enabled?: boolean, native?: boolean, debounce?: integer, keymaps?: table<string, string|false> }
---@field answer? { layout?: string, width?: number, height?: number, border?: string|string[], show_thinking?: boolean, keymaps?: table<string, string> }
---@field log_level? minimax.LogLevel

local M = {}

--- The defaults. This is the only table that holds them.
---@type minimax.Config
M.defaults = {
  cmd = { "minimax-lsp", "serve" },
  api_key_cmd = false,
  env = {},
  settings = {},
  root_markers = { ".git", ".hg", ".jj", "pyproject.toml", "package.json", "go.mod", "Cargo.toml" },
  filetypes = false,
  inline = {
    enabled = true,
    native = true,
    debounce = 75,
    keymaps = {
      accept = "<Tab>",
      accept_word = "<M-Right>",
      accept_line = "<M-Down>",
      dismiss = "<C-]>",
      next = "<M-]>",
      prev = "<M-[>",
    },
  },
  answer = {
    layout = "float",
    width = 0.8,
    height = 0.7,
    border = "rounded",
    show_thinking = false,
    keymaps = { close = "q", keep = "<CR>" },
  },
  log_level = "warn",
}

--- Values that are maps (merged key by key) rather than records with a fixed shape.
local FREE_MAPS = { env = true, settings = true }

local LOG_LEVELS =
  { trace = true, debug = true, info = true, warn = true, error = true, off = true }
local LAYOUTS = { float = true, split = true, vsplit = true }

---@param value any
---@return boolean
local function is_list(value)
  return type(value) == "table" and #value > 0 and vim.islist(value)
end

--- Merge `user` over `base`. Lists replace (a user `cmd` of one word must not keep the
--- default's second word, which `vim.tbl_deep_extend` does before 0.12); maps merge.
---@param base any
---@param user any
---@param path string
---@param unknown string[] collects unknown keys (the config class is exact)
---@return any
local function merge(base, user, path, unknown)
  if user == nil then
    return vim.deepcopy(base)
  end
  if type(base) ~= "table" or type(user) ~= "table" or is_list(base) or is_list(user) then
    return vim.deepcopy(user)
  end
  local out = vim.deepcopy(base)
  for key, value in pairs(user) do
    local sub = path == "" and tostring(key) or (path .. "." .. tostring(key))
    if base[key] == nil and not FREE_MAPS[path] then
      unknown[#unknown + 1] = sub
    end
    out[key] = FREE_MAPS[sub] and vim.deepcopy(value) or merge(base[key], value, sub, unknown)
  end
  return out
end

---@param v any
---@return boolean
local function is_string_list(v)
  if not is_list(v) then
    return false
  end
  for _, item in ipairs(v) do
    if type(item) ~= "string" then
      return false
    end
  end
  return true
end

---@param name string
---@return fun(v: any): boolean
local function of_type(name)
  return function(v)
    return type(v) == name
  end
end

---@param v any
---@return boolean
local function key_or_false(v)
  return v == false or type(v) == "string"
end

--- Checks, in order: {path, predicate, what is expected}. Written out rather than with
--- `vim.validate`, whose signature changed in 0.11.
---@type [string, fun(v: any): boolean, string][]
local CHECKS = {
  { "cmd", is_string_list, "a non-empty list of strings" },
  {
    "api_key_cmd",
    function(v)
      return v == false or is_string_list(v)
    end,
    "false or a list of strings",
  },
  { "env", of_type("table"), "a table" },
  { "settings", of_type("table"), "a table" },
  { "root_markers", of_type("table"), "a list of names" },
  {
    "filetypes",
    function(v)
      return v == false or type(v) == "table"
    end,
    "false or a list of filetypes",
  },
  { "inline.enabled", of_type("boolean"), "a boolean" },
  { "inline.native", of_type("boolean"), "a boolean" },
  {
    "inline.debounce",
    function(v)
      return type(v) == "number" and v >= 0
    end,
    "a number of milliseconds >= 0",
  },
  { "inline.keymaps.accept", key_or_false, "a key or false" },
  { "inline.keymaps.accept_word", key_or_false, "a key or false" },
  { "inline.keymaps.accept_line", key_or_false, "a key or false" },
  { "inline.keymaps.dismiss", key_or_false, "a key or false" },
  { "inline.keymaps.next", key_or_false, "a key or false" },
  { "inline.keymaps.prev", key_or_false, "a key or false" },
  {
    "answer.layout",
    function(v)
      return LAYOUTS[v] ~= nil
    end,
    '"float", "split" or "vsplit"',
  },
  { "answer.width", of_type("number"), "a number" },
  { "answer.height", of_type("number"), "a number" },
  { "answer.show_thinking", of_type("boolean"), "a boolean" },
  { "answer.keymaps.close", of_type("string"), "a key" },
  { "answer.keymaps.keep", of_type("string"), "a key" },
  {
    "log_level",
    function(v)
      return LOG_LEVELS[v] ~= nil
    end,
    "one of trace, debug, info, warn, error, off",
  },
}

---@param cfg minimax.Config
local function validate(cfg)
  for _, check in ipairs(CHECKS) do
    local path, ok, expected = check[1], check[2], check[3]
    local value = vim.tbl_get(cfg, unpack(vim.split(path, ".", { plain = true })))
    if not ok(value) then
      error(
        ("minimax: option `%s` must be %s, got %s"):format(path, expected, vim.inspect(value)),
        0
      )
    end
  end
end

--- Merge the user's options over the defaults and check them.
---
--- Raises a one-line error for an invalid value; returns the unknown keys (typos) so the
--- caller can warn about them without failing.
---@param opts? minimax.UserConfig
---@return minimax.Config config, string[] unknown
function M.resolve(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("minimax: setup() takes a table of options", 0)
  end
  local unknown = {}
  local cfg = merge(M.defaults, opts or {}, "", unknown)
  validate(cfg)
  return cfg, unknown
end

--- The configuration in force: the one `setup()` stored, or the defaults.
---@return minimax.Config
function M.get()
  return M._current or M.defaults
end

--- Store the configuration in force (setup() calls this).
---@param cfg minimax.Config
function M.set(cfg)
  M._current = cfg
end

return M
