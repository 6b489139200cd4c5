--- Finding, starting and talking to the `minimax-lsp` language server.
---
--- * `lsp_config(cfg)` builds the `vim.lsp.Config` that `lsp/minimax.lua` returns and
---   `setup()` registers: the server command is resolved when the server is spawned
---   (`cmd` is a function), so a missing executable or a failing `api_key_cmd` is
---   reported once, cleanly, instead of as a traceback.
--- * The API key is never an LSP parameter. The server reads `MINIMAX_API_KEY` from its
---   environment; `api_key_cmd` output is put only into that environment.
--- * Settings (`cfg.settings`, camelCase) go out as `initializationOptions` and answer
---   `workspace/configuration` for the section `minimax`; nothing else is sent.

local log = require("minimax.log")

local M = {}

M.NAME = "minimax"

--- Tried when the configured command is the default and `minimax-lsp` is not on PATH.
M.FALLBACK_CMD = { "python3", "-m", "minimax_lsp", "serve" }

--- Last start-up failure (shown by `:checkhealth minimax` and `:MiniMax status`).
---@type string?
M.start_error = nil

---@param a string[]
---@param b string[]
---@return boolean
local function same_list(a, b)
  return #a == #b and vim.deep_equal(a, b)
end

--- The command that starts the server, or nil and a one-line reason.
---@param cfg minimax.Config
---@return string[]? cmd, string? err
function M.resolve_cmd(cfg)
  local cmd = cfg.cmd
  if vim.fn.executable(cmd[1]) == 1 then
    return vim.deepcopy(cmd), nil
  end
  local default = require("minimax.config").defaults.cmd
  if same_list(cmd, default) and vim.fn.executable(M.FALLBACK_CMD[1]) == 1 then
    -- Only trust the fallback when the package is importable there, so that a missing
    -- install is reported as such and not as "the server exited with code 1".
    local probe = vim.system({ M.FALLBACK_CMD[1], "-c", "import minimax_lsp" }):wait(5000)
    if probe.code == 0 then
      return vim.deepcopy(M.FALLBACK_CMD), nil
    end
  end
  return nil,
    (
      "cannot start the language server: %q is not an executable (install it with "
      .. "`pipx install minimax-lsp` or set `cmd`; see :checkhealth minimax)"
    ):format(cmd[1])
end

--- The server's extra environment (`cfg.env`) and the key from `api_key_cmd` (or nil).
---@param cfg minimax.Config
---@return table<string, string>? env, string? key, string? err
function M.server_env(cfg)
  local env = vim.deepcopy(cfg.env)
  if not cfg.api_key_cmd then
    return env, nil, nil
  end
  local ok, result = pcall(function()
    return vim.system(cfg.api_key_cmd, { text = true }):wait(10000)
  end)
  if not ok or result.code ~= 0 then
    -- Never include the command's output: on failure it may still hold the secret.
    return nil,
      nil,
      ("api_key_cmd %q failed (exit code %s)"):format(
        cfg.api_key_cmd[1],
        ok and tostring(result.code) or "spawn error"
      )
  end
  local key = vim.trim(result.stdout or "")
  if key == "" then
    return nil, nil, ("api_key_cmd %q printed nothing"):format(cfg.api_key_cmd[1])
  end
  return env, key, nil
end

--- Spawn with `key` visible to the child only.
---
--- `vim.lsp.rpc.start` logs its spawn parameters (env included) to lsp.log, so the key is
--- not put there: it is set in Neovim's own environment for the instant of the
--- (synchronous) spawn, which the child inherits, and the old value is restored at once.
---@param key string?
---@param start fun(): any
---@return boolean ok, any result
local function with_key(key, start)
  if not key then
    return pcall(start)
  end
  local saved = vim.uv.os_getenv("MINIMAX_API_KEY")
  vim.uv.os_setenv("MINIMAX_API_KEY", key)
  local ok, result = pcall(start)
  if saved then
    vim.uv.os_setenv("MINIMAX_API_KEY", saved)
  else
    vim.uv.os_unsetenv("MINIMAX_API_KEY")
  end
  return ok, result
end

--- Record a start-up failure, tell the user once, and raise a clean error.
---@param message string
local function fail_start(message)
  local first = M.start_error ~= message
  M.start_error = message
  log.error("%s", message)
  if first then
    vim.schedule(function()
      require("minimax.status").set_error(message)
      -- Stop retrying (and warning) on every buffer opened; `:checkhealth minimax` says
      -- why, and `:lua vim.lsp.enable("minimax")` tries again after a fix.
      if vim.lsp.enable ~= nil then
        pcall(vim.lsp.enable, M.NAME, false)
      end
    end)
  end
  -- Level 0: no "file:line:" prefix. vim.lsp.start() shows this text as its warning.
  error("MiniMax: " .. message, 0)
end

--- `cmd` for `vim.lsp.Config`: spawn the server with the resolved command and env.
---@param cfg minimax.Config
---@return fun(dispatchers: vim.lsp.rpc.Dispatchers, config: vim.lsp.ClientConfig): vim.lsp.rpc.PublicClient
local function spawn(cfg)
  return function(dispatchers, config)
    local cmd, err = M.resolve_cmd(cfg)
    if not cmd then
      fail_start(err --[[@as string]])
    end
    local env, key, env_err = M.server_env(cfg)
    if not env then
      fail_start(env_err --[[@as string]])
    end
    log.info("starting %s in %s", cmd, config and config.root_dir or vim.fn.getcwd())
    local ok, rpc = with_key(key, function()
      return vim.lsp.rpc.start(cmd, dispatchers, {
        cwd = config and config.cmd_cwd or nil,
        env = next(env) and env or nil,
      })
    end)
    if not ok then
      fail_start(("could not spawn %q: %s"):format(cmd[1], tostring(rpc)))
    end
    M.start_error = nil
    return rpc
  end
end

--- The workspace root of a buffer: the nearest root marker, else the current directory.
---@param cfg minimax.Config
---@param bufnr integer
---@return string
function M.root_dir(cfg, bufnr)
  return vim.fs.root(bufnr, cfg.root_markers) or vim.fn.getcwd()
end

--- Whether a buffer should get the server: a real file of an accepted filetype.
---@param cfg minimax.Config
---@param bufnr integer
---@return boolean
function M.wants(cfg, bufnr)
  if vim.bo[bufnr].buftype ~= "" or vim.api.nvim_buf_get_name(bufnr) == "" then
    return false
  end
  return not cfg.filetypes or vim.tbl_contains(cfg.filetypes, vim.bo[bufnr].filetype)
end

---@param cfg minimax.Config
---@return lsp.ClientCapabilities
local function capabilities(cfg)
  local caps = vim.lsp.protocol.make_client_capabilities()
  if cfg.inline.enabled then
    -- Our extmark fallback speaks inlineCompletion too; advertising it keeps the server
    -- from also pushing completion items into the popup menu (its `fallback = auto`).
    caps.textDocument.inlineCompletion = caps.textDocument.inlineCompletion
      or { dynamicRegistration = false }
  end
  return caps
end

--- Handlers for our custom notifications (loaded lazily).
---@return table<string, lsp.Handler>
local function handlers()
  return {
    ["minimax/status"] = function(_, params, ctx)
      require("minimax.status").update(ctx.client_id, params)
    end,
    ["minimax/streamDelta"] = function(_, params)
      require("minimax.stream").on_delta(params)
    end,
    -- Only for commands Neovim runs itself (code actions); ours pass their own handler.
    ["workspace/executeCommand"] = function(err, result, ctx)
      require("minimax").on_command_result(err, result, ctx)
    end,
  }
end

--- The `vim.lsp.Config` for the server.
---@param cfg? minimax.Config
---@return vim.lsp.Config
function M.lsp_config(cfg)
  cfg = cfg or require("minimax.config").get()
  local settings = cfg.settings
  ---@type vim.lsp.Config
  local lsp_config = {
    name = M.NAME,
    cmd = spawn(cfg),
    root_dir = function(bufnr, on_dir)
      if M.wants(cfg, bufnr) then
        on_dir(M.root_dir(cfg, bufnr))
      end
    end,
    -- Only what the user set: the server owns the defaults (docs/settings.md).
    init_options = next(settings) and vim.deepcopy(settings) or nil,
    settings = { minimax = next(settings) and vim.deepcopy(settings) or vim.empty_dict() },
    capabilities = capabilities(cfg),
    handlers = handlers(),
    on_exit = function(code, signal)
      if code ~= 0 and M.start_error == nil then
        log.error("the language server exited with code %s (signal %s)", code, signal)
        vim.schedule(function()
          require("minimax.status").set_error(("server exited with code %d"):format(code))
        end)
      end
    end,
  }
  if cfg.filetypes then
    lsp_config.filetypes = cfg.filetypes
  end
  return lsp_config
end

--- Start (or reuse) the server for a buffer without `vim.lsp.enable` (Neovim 0.10).
---@param cfg minimax.Config
---@param bufnr integer
---@return integer? client_id
function M.start(cfg, bufnr)
  if not M.wants(cfg, bufnr) then
    return nil
  end
  local lsp_config = M.lsp_config(cfg)
  lsp_config.root_dir = M.root_dir(cfg, bufnr)
  return vim.lsp.start(lsp_config --[[@as vim.lsp.ClientConfig]], { bufnr = bufnr })
end

--- The MiniMax client attached to a buffer, else any running MiniMax client.
---@param bufnr? integer
---@return vim.lsp.Client?
function M.get(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local attached = vim.lsp.get_clients({ name = M.NAME, bufnr = bufnr })
  if attached[1] then
    return attached[1]
  end
  return vim.lsp.get_clients({ name = M.NAME })[1]
end

--- Send a request; works with the method-style API of 0.11+ and the older one.
---@param client vim.lsp.Client
---@param method string
---@param params table
---@param handler fun(err: lsp.ResponseError?, result: any)
---@param bufnr? integer
---@return integer? request_id
function M.request(client, method, params, handler, bufnr)
  local function on_result(err, result)
    handler(err, result)
  end
  local ok, request_id
  if vim.fn.has("nvim-0.11") == 1 then
    ok, request_id = client:request(method, params, on_result, bufnr)
  else
    ---@diagnostic disable-next-line: param-type-mismatch
    ok, request_id = client.request(method, params, on_result, bufnr)
  end
  return ok and request_id or nil
end

--- Cancel a request sent with `request()`.
---@param client vim.lsp.Client
---@param request_id integer
function M.cancel(client, request_id)
  if vim.fn.has("nvim-0.11") == 1 then
    client:cancel_request(request_id)
  else
    ---@diagnostic disable-next-line: param-type-mismatch
    client.cancel_request(request_id)
  end
end

--- `workspace/executeCommand` with one object argument.
---@param client vim.lsp.Client
---@param command string
---@param argument table?
---@param handler fun(err: lsp.ResponseError?, result: any)
---@param bufnr? integer
---@return integer? request_id
function M.execute(client, command, argument, handler, bufnr)
  local params = { command = command, arguments = argument and { argument } or {} }
  log.debug("executeCommand %s", command)
  return M.request(client, "workspace/executeCommand", params, handler, bufnr)
end

--- A short, user-facing text for an LSP error.
---@param err lsp.ResponseError|string
---@return string
function M.error_text(err)
  if type(err) == "table" then
    return tostring(err.message or vim.inspect(err))
  end
  return tostring(err)
end

return M
