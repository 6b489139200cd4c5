--- `:[range]MiniMax[!] {subcommand} [args]` — parsing and completion.
---
--- | subcommand                 | does                                                   |
--- |----------------------------|--------------------------------------------------------|
--- | `explain [question]`       | explain the range (or cursor line) in an answer window |
--- | `refactor [instruction]`   | rewrite the range; asks for the instruction if omitted |
--- | `chat [question]`          | ask; `!` starts a new conversation                     |
--- | `context [task]`           | show what would be sent for the cursor position        |
--- | `status`                   | show server, index and usage state                     |
--- | `reindex`                  | rebuild the workspace index                            |

local M = {}

M.SUBCOMMANDS = { "explain", "refactor", "chat", "context", "status", "reindex" }
local TASKS = { "complete", "explain", "refactor", "chat" }

---@param prompt string
---@param given string
---@param run fun(text: string)
local function with_input(prompt, given, run)
  if given ~= "" then
    run(given)
    return
  end
  vim.ui.input({ prompt = prompt }, function(text)
    if text and vim.trim(text) ~= "" then
      run(vim.trim(text))
    end
  end)
end

--- Run `:MiniMax` with the user-command `opts`.
---@param opts vim.api.keyset.create_user_command.command_args
function M.run(opts)
  local minimax = require("minimax")
  local sub = opts.fargs[1]
  local rest = vim.trim((opts.args or ""):gsub("^%s*%S+", "", 1))
  local range = { line1 = opts.line1, line2 = opts.line2, range = opts.range }
  if opts.range == 0 then
    range = {}
  end
  if sub == "explain" then
    minimax.explain(range, rest)
  elseif sub == "refactor" then
    with_input("MiniMax refactor: ", rest, function(instruction)
      minimax.refactor(instruction, range)
    end)
  elseif sub == "chat" then
    with_input("MiniMax chat: ", rest, function(question)
      range.new = opts.bang
      minimax.chat(question, range)
    end)
  elseif sub == "context" then
    minimax.context(rest ~= "" and rest or nil)
  elseif sub == "status" then
    minimax.status()
  elseif sub == "reindex" then
    minimax.reindex()
  else
    vim.notify(
      ("MiniMax: unknown subcommand %q (expected one of: %s)"):format(
        sub or "",
        table.concat(M.SUBCOMMANDS, ", ")
      ),
      vim.log.levels.ERROR
    )
  end
end

--- Completion for `:MiniMax`.
---@param arg_lead string
---@param cmdline string
---@return string[]
function M.complete(arg_lead, cmdline)
  local words = vim.split(vim.trim(cmdline:gsub("^%A*", "")), "%s+")
  local candidates = M.SUBCOMMANDS
  -- words[1] is the command itself; completing its first argument, or `context`'s task.
  if #words > 2 or (#words == 2 and arg_lead == "") then
    candidates = words[2] == "context" and TASKS or {}
  end
  return vim.tbl_filter(function(name)
    return vim.startswith(name, arg_lead)
  end, candidates)
end

return M
