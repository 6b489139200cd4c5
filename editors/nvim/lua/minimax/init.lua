--- minimax.nvim: MiniMax's language server (`minimax-lsp`) in Neovim.
---
--- `vim.lsp` does the work: the server is a normal LSP client, code actions appear in
--- `vim.lsp.buf.code_action()`, refactor edits arrive through `workspace/applyEdit`.
--- This module adds `setup()`, the `:MiniMax` actions, inline suggestions and the
--- statusline component.
---
--- ```lua
--- require("minimax").setup({ settings = { model = "MiniMax-M3" } })
--- ```

local client_mod = require("minimax.client")
local config = require("minimax.config")
local log = require("minimax.log")

local M = {}

--- Conversation continued by `:MiniMax chat` (`:MiniMax chat!` starts a new one).
---@type string?
M.conversation_id = nil

---@param message string
---@param level? integer
local function notify(message, level)
  vim.notify("MiniMax: " .. message, level or vim.log.levels.INFO, { title = "MiniMax" })
end

--- Answers that arrived without a request of ours (from the code-action menu), newest last.
---@type { answer: minimax.Answer }[]
local orphans = {}

require("minimax.stream").orphan_handler = function()
  local answer = require("minimax.answer").open("MiniMax")
  local entry = { answer = answer }
  orphans[#orphans + 1] = entry
  return {
    on_text = function(text)
      answer:append(text)
    end,
  }
end

--- Default `workspace/executeCommand` handler for the MiniMax client: the result of a
--- command Neovim ran itself (a code action's command). Explain/chat answers are shown
--- (finishing the window their stream opened), a refused edit is reported.
---@param err lsp.ResponseError?
---@param result any
---@param ctx lsp.HandlerContext
function M.on_command_result(err, result, ctx)
  local command = ctx.params and ctx.params.command or "command"
  if err then
    notify(("%s failed: %s"):format(command, client_mod.error_text(err)), vim.log.levels.ERROR)
    return
  end
  if type(result) ~= "table" then
    return
  end
  if type(result.markdown) == "string" then
    require("minimax.stream").close_orphans()
    local entry = table.remove(orphans)
    while entry and (entry.answer.done or not entry.answer:valid()) do
      entry = table.remove(orphans)
    end
    local answer = entry and entry.answer or require("minimax.answer").open("MiniMax")
    answer:finish(result.markdown)
    if type(result.conversationId) == "string" then
      M.conversation_id = result.conversationId
    end
  elseif result.applied == false then
    notify(
      "the edit was not applied: " .. tostring(result.reason or "unknown reason"),
      vim.log.levels.WARN
    )
  end
end

--- Configure the plugin and start the server for matching buffers.
---
--- On Neovim 0.11+ this registers the `minimax` config with `vim.lsp.config()` and calls
--- `vim.lsp.enable("minimax")`; on 0.10 it starts the server from a FileType autocmd.
---@param opts? minimax.UserConfig
function M.setup(opts)
  local cfg, unknown = config.resolve(opts)
  config.set(cfg)
  if #unknown > 0 then
    notify("unknown option(s) ignored: " .. table.concat(unknown, ", "), vim.log.levels.WARN)
  end
  log.info("setup (Neovim %s)", tostring(vim.version()))
  if vim.lsp.config ~= nil and vim.lsp.enable ~= nil then
    vim.lsp.config(client_mod.NAME, client_mod.lsp_config(cfg))
    vim.lsp.enable(client_mod.NAME)
  else
    local group = vim.api.nvim_create_augroup("minimax.start", { clear = true })
    vim.api.nvim_create_autocmd("FileType", {
      group = group,
      callback = function(args)
        client_mod.start(config.get(), args.buf)
      end,
    })
    for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(bufnr) and vim.bo[bufnr].filetype ~= "" then
        client_mod.start(cfg, bufnr)
      end
    end
  end
end

--- Called from the LspAttach autocmd (plugin/minimax.lua) for the MiniMax client.
---@param client vim.lsp.Client
---@param bufnr integer
function M.on_attach(client, bufnr)
  log.debug("attached to buffer %d (%s)", bufnr, vim.api.nvim_buf_get_name(bufnr))
  require("minimax.inline").attach(client, bufnr)
end

--- Called from the LspDetach autocmd.
---@param bufnr integer
function M.on_detach(bufnr)
  require("minimax.inline").detach(bufnr)
end

--- The running client for the current buffer, or nil after telling the user why not.
---@return vim.lsp.Client?
local function need_client()
  local client = client_mod.get()
  if client then
    return client
  end
  local reason = client_mod.start_error
    or "the language server is not running for this buffer (see :checkhealth minimax)"
  notify(reason, vim.log.levels.ERROR)
  return nil
end

---@class minimax.RangeOpts
---@field line1? integer First line (1-based); default the cursor line.
---@field line2? integer Last line (1-based, inclusive).
---@field range? integer 0, 1 or 2 as given to a user command.
---@field bufnr? integer

--- LSP range for a command range: the visual selection when the range is `'<,'>` of a
--- characterwise selection, else the whole lines (the cursor line without a range).
---@param client vim.lsp.Client
---@param opts minimax.RangeOpts
---@return lsp.Range
function M.range(client, opts)
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local encoding = client.offset_encoding or "utf-16"
  local cursor_line = vim.api.nvim_win_get_cursor(0)[1]
  local line1 = opts.line1 or cursor_line
  local line2 = opts.line2 or line1
  local col1, col2 = 0, nil ---@type integer, integer?
  if (opts.range or 0) == 2 then
    local from, to = vim.api.nvim_buf_get_mark(bufnr, "<"), vim.api.nvim_buf_get_mark(bufnr, ">")
    if from[1] == line1 and to[1] == line2 and vim.fn.visualmode() == "v" then
      col1 = from[2]
      local last = vim.api.nvim_buf_get_lines(bufnr, line2 - 1, line2, false)[1] or ""
      local char = vim.fn.strcharpart(last:sub(to[2] + 1), 0, 1)
      col2 = math.min(to[2] + #char, #last)
    end
  end
  local last_line = vim.api.nvim_buf_get_lines(bufnr, line2 - 1, line2, false)[1] or ""
  col2 = col2 or #last_line
  local util = vim.lsp.util
  return {
    start = {
      line = line1 - 1,
      character = util.character_offset(bufnr, line1 - 1, col1, encoding),
    },
    ["end"] = {
      line = line2 - 1,
      character = util.character_offset(bufnr, line2 - 1, col2, encoding),
    },
  }
end

--- Run a streaming command (explain, chat) into a new answer window.
---@param client vim.lsp.Client
---@param bufnr integer The source buffer (its pending changes are sent first).
---@param title string
---@param command string
---@param argument table
---@param on_result? fun(result: table, answer: minimax.Answer)
---@return minimax.Answer
local function stream_command(client, bufnr, title, command, argument, on_result)
  local answer = require("minimax.answer").open(title)
  local stream_mod = require("minimax.stream")
  local cfg = config.get()
  local stream, stream_id = stream_mod.open({
    on_text = function(text)
      answer:append(text)
    end,
    on_thinking = cfg.answer.show_thinking and function(text)
      answer:append(text)
    end or nil,
  })
  argument.requestId = stream_id
  local request_id = client_mod.execute(client, command, argument, function(err, result)
    stream_mod.close(stream)
    if err then
      log.warn("%s failed: %s", command, client_mod.error_text(err))
      answer:fail(client_mod.error_text(err))
      return
    end
    result = type(result) == "table" and result or {}
    answer:finish(type(result.markdown) == "string" and result.markdown or answer.text)
    if on_result then
      on_result(result, answer)
    end
  end, bufnr)
  stream_mod.bind(stream, request_id)
  -- Closing the window before the answer is complete stops the model call.
  vim.api.nvim_create_autocmd("BufWipeout", {
    buffer = answer.bufnr,
    once = true,
    callback = function()
      if not answer.done and request_id then
        client_mod.cancel(client, request_id)
      end
      stream_mod.close(stream)
    end,
  })
  return answer
end

--- Explain the selection (or the cursor line) in a streamed answer window, answering
--- `question` first when one is given.
---@param opts? minimax.RangeOpts
---@param question? string
---@return minimax.Answer?
function M.explain(opts, question)
  local client = need_client()
  if not client then
    return nil
  end
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local argument = { uri = vim.uri_from_bufnr(bufnr), range = M.range(client, opts) }
  if question and question ~= "" then
    argument.question = question
  end
  return stream_command(client, bufnr, "MiniMax: explain", "minimax.explain", argument)
end

--- Ask a question (about the selection when a range is given) in a streamed window.
--- Continues the last conversation unless `opts.new`.
---@param question string
---@param opts? minimax.RangeOpts|{ new?: boolean }
---@return minimax.Answer?
function M.chat(question, opts)
  local client = need_client()
  if not client then
    return nil
  end
  opts = opts or {}
  local argument = { prompt = question }
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].buftype == "" and vim.api.nvim_buf_get_name(bufnr) ~= "" then
    argument.uri = vim.uri_from_bufnr(bufnr)
    if (opts.range or 0) > 0 then
      argument.range = M.range(client, opts)
    end
  end
  if opts.new then
    M.conversation_id = nil
  end
  argument.conversationId = M.conversation_id
  return stream_command(
    client,
    bufnr,
    "MiniMax: chat",
    "minimax.chat",
    argument,
    function(result, answer)
      if type(result.conversationId) == "string" then
        M.conversation_id = result.conversationId
        answer.conversation_id = result.conversationId
      end
    end
  )
end

--- Rewrite the selection following `instruction`. The edit is applied by the server
--- through `workspace/applyEdit` (one undo step).
---@param instruction? string
---@param opts? minimax.RangeOpts
---@param on_done? fun(applied: boolean)
function M.refactor(instruction, opts, on_done)
  local client = need_client()
  if not client then
    return
  end
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local argument = {
    uri = vim.uri_from_bufnr(bufnr),
    range = M.range(client, opts),
    -- The server refuses the edit if the buffer changes while the model answers.
    version = vim.lsp.util.buf_versions[bufnr],
  }
  if instruction and instruction ~= "" then
    argument.instruction = instruction
  end
  notify("refactoring…")
  client_mod.execute(client, "minimax.refactor", argument, function(err, result)
    local applied = err == nil and type(result) == "table" and result.applied == true
    if err then
      notify("refactor failed: " .. client_mod.error_text(err), vim.log.levels.ERROR)
    elseif not applied then
      local reason = type(result) == "table" and result.reason or "the buffer changed meanwhile?"
      notify("the refactoring was not applied: " .. tostring(reason), vim.log.levels.WARN)
    end
    if on_done then
      on_done(applied)
    end
  end, bufnr)
end

--- Show what a request at the cursor would send to the model.
---@param task? string complete (default), explain, refactor or chat
---@param on_done? fun(bufnr: integer?)
function M.context(task, on_done)
  local client = need_client()
  if not client then
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local argument = {
    uri = vim.uri_from_bufnr(bufnr),
    position = vim.lsp.util.make_position_params(0, client.offset_encoding).position,
    task = task,
  }
  client_mod.execute(client, "minimax.showContext", argument, function(err, result)
    if err then
      notify("context failed: " .. client_mod.error_text(err), vim.log.levels.ERROR)
      if on_done then
        on_done(nil)
      end
      return
    end
    local shown = require("minimax.context").show(result or {})
    if on_done then
      on_done(shown)
    end
  end, bufnr)
end

--- The lines `:MiniMax status` shows for a `minimax.status` result.
---@param result table
---@return string[]
function M.format_status(result)
  local lines = {
    ("state: %s%s"):format(
      tostring(result.state),
      (result.message and result.message ~= "") and (" — " .. result.message) or ""
    ),
    ("model: %s (completion: %s), api %s"):format(
      tostring(result.model),
      tostring(result.completionModel),
      tostring(result.api)
    ),
    "API key: " .. (result.keyPresent and "present" or "missing"),
  }
  for _, ws in ipairs(result.workspaces or {}) do
    lines[#lines + 1] = ("workspace %s: %s files, %s symbols (%s)"):format(
      tostring(ws.name or ws.root),
      tostring(ws.files),
      tostring(ws.symbols),
      tostring(ws.state)
    )
  end
  local usage = result.usage
  if type(usage) == "table" then
    lines[#lines + 1] = ("usage: %s requests, %s in / %s out tokens, cache hit %s%%"):format(
      tostring(usage.requests),
      tostring(usage.inputTokens),
      tostring(usage.outputTokens),
      tostring(math.floor((tonumber(usage.cacheHitShare) or 0) * 100 + 0.5))
    )
  end
  return lines
end

--- Request `minimax.status` and show it (or hand it to `on_done`).
---@param on_done? fun(result: table?, err: string?)
function M.status(on_done)
  local client = need_client()
  if not client then
    if on_done then
      on_done(nil, client_mod.start_error or "not running")
    end
    return
  end
  client_mod.execute(client, "minimax.status", nil, function(err, result)
    if err then
      local message = client_mod.error_text(err)
      notify("status failed: " .. message, vim.log.levels.ERROR)
      if on_done then
        on_done(nil, message)
      end
      return
    end
    if on_done then
      on_done(result, nil)
    else
      notify(table.concat(M.format_status(result or {}), "\n"))
    end
  end)
end

--- Rebuild the workspace index in the background.
---@param on_done? fun(result: table?)
function M.reindex(on_done)
  local client = need_client()
  if not client then
    return
  end
  client_mod.execute(client, "minimax.reindex", nil, function(err, result)
    if err then
      notify("reindex failed: " .. client_mod.error_text(err), vim.log.levels.ERROR)
    elseif result and result.started then
      notify(("reindexing %d folder(s)"):format(#(result.workspaces or {})))
    else
      notify("reindex not started: " .. tostring(result and result.reason or "unknown reason"))
    end
    if on_done then
      on_done(result)
    end
  end)
end

--- Statusline component: index / usage state of the MiniMax server ("" when off).
---
--- ```lua
--- vim.o.statusline = "%f %= %{v:lua.require'minimax'.statusline()}"
--- ```
---@return string
function M.statusline()
  return require("minimax.status").statusline()
end

return M
