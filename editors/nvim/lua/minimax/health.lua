--- `:checkhealth minimax`: Neovim version, the server executable and its version, whether
--- an API key is available (never its value), and the running server's index state.

local M = {}

local health = vim.health

--- The version line of the server (`minimax-lsp --version`), or nil and a reason.
---@param cmd string[] the resolved server command
---@return string? version, string? err
local function server_version(cmd)
  local probe
  if cmd[#cmd] == "serve" then
    probe = vim.list_slice(cmd, 1, #cmd - 1)
  else
    probe = vim.deepcopy(cmd)
  end
  probe[#probe + 1] = "--version"
  local ok, result = pcall(function()
    return vim.system(probe, { text = true }):wait(10000)
  end)
  if not ok then
    return nil, tostring(result)
  end
  if result.code ~= 0 then
    local reason = vim.split(vim.trim(result.stderr or ""), "\n")[1] or ""
    return nil,
      ("`%s` exited with code %d %s"):format(table.concat(probe, " "), result.code, reason)
  end
  return vim.trim(result.stdout or ""), nil
end

---@param cfg minimax.Config
local function check_key(cfg)
  local settings = cfg.settings
  if cfg.api_key_cmd then
    health.ok(
      ("API key: from `api_key_cmd` (%s), passed only in the server's environment"):format(
        cfg.api_key_cmd[1]
      )
    )
  elseif (cfg.env.MINIMAX_API_KEY or vim.env.MINIMAX_API_KEY or "") ~= "" then
    health.ok("API key: MINIMAX_API_KEY is set")
  elseif
    (settings.apiKeyFile or "") ~= ""
    or (type(settings.apiKeyCommand) == "table" and #settings.apiKeyCommand > 0)
  then
    health.ok("API key: the server reads it from `apiKeyFile` / `apiKeyCommand`")
  else
    health.warn("API key: none found", {
      "export MINIMAX_API_KEY before starting Neovim",
      "or set `api_key_cmd = { 'pass', 'show', 'minimax' }` in setup()",
    })
  end
end

---@param client vim.lsp.Client
local function check_running(client)
  health.ok(("server running (client id %d, root %s)"):format(client.id, tostring(client.root_dir)))
  local params = { command = "minimax.status", arguments = {} }
  local response
  if vim.fn.has("nvim-0.11") == 1 then
    response = client:request_sync("workspace/executeCommand", params, 5000)
  else
    ---@diagnostic disable-next-line: param-type-mismatch
    response = client.request_sync("workspace/executeCommand", params, 5000)
  end
  if not response or response.err then
    local reason = response and response.err and response.err.message or "no answer within 5 s"
    health.error("minimax.status failed: " .. tostring(reason))
    return
  end
  local result = response.result or {}
  local state = tostring(result.state)
  local line = ("index: %s%s"):format(
    state,
    (result.message or "") ~= "" and (" — " .. result.message) or ""
  )
  if state == "ready" or state == "indexing" then
    health.ok(line)
  else
    health.warn(line)
  end
  for _, ws in ipairs(result.workspaces or {}) do
    health.info(
      ("workspace %s: %s files, %s symbols"):format(
        tostring(ws.root),
        tostring(ws.files),
        tostring(ws.symbols)
      )
    )
  end
  if result.keyPresent == true then
    health.ok("server sees an API key")
  elseif result.keyPresent == false then
    health.error(
      "server sees no API key",
      { "set MINIMAX_API_KEY in the environment Neovim starts the server with" }
    )
  end
  health.info(
    ("model %s, api %s, endpoint %s"):format(
      tostring(result.model),
      tostring(result.api),
      tostring(result.baseUrl)
    )
  )
end

function M.check()
  local cfg = require("minimax.config").get()
  local client_mod = require("minimax.client")

  health.start("minimax: Neovim")
  if vim.fn.has("nvim-0.10") == 0 then
    health.error("Neovim 0.10 or newer is required")
  elseif vim.lsp.inline_completion ~= nil then
    health.ok(("Neovim %s with native inline completion"):format(tostring(vim.version())))
  else
    health.ok(
      ("Neovim %s (inline suggestions use the extmark fallback)"):format(tostring(vim.version()))
    )
  end
  if require("minimax.config")._current == nil then
    health.info("setup() not called: defaults in use (fine with `vim.lsp.enable('minimax')`)")
  end

  health.start("minimax: server")
  local cmd, err = client_mod.resolve_cmd(cfg)
  if not cmd then
    health.error(err --[[@as string]], {
      "install the server: `pipx install minimax-lsp` (or `uv tool install minimax-lsp`)",
      "or point `cmd` at it: require('minimax').setup({ cmd = { '/path/to/minimax-lsp', 'serve' } })",
    })
  else
    health.ok(("found: %s (%s)"):format(table.concat(cmd, " "), vim.fn.exepath(cmd[1])))
    local version, version_err = server_version(cmd)
    if version then
      health.ok("version: " .. version)
    else
      health.error("cannot run the server: " .. tostring(version_err))
    end
  end
  if client_mod.start_error then
    health.error("last start failed: " .. client_mod.start_error)
  end
  check_key(cfg)

  health.start("minimax: state")
  local client = client_mod.get()
  if client then
    check_running(client)
  else
    health.info("server not running (open a file in a workspace to start it)")
  end
  health.info("log file: " .. require("minimax.log").path())
end

return M
