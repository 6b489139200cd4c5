-- Headless test runner for one spec file.
--
--   MINIMAX_NVIM_PLUGIN=editors/nvim MINIMAX_NVIM_SPEC=editors/nvim/tests/spec/x_spec.lua \
--     nvim --headless -u NONE -i NONE -n -c "luafile editors/nvim/tests/run.lua"
--
-- A spec file returns a list of `{ name, fn }` cases; they run in order inside one
-- coroutine, so `T.wait()` / `T.sleep()` yield to the event loop and real typeahead,
-- timers and LSP messages are processed in between (the feasibility notes: `-c luafile`,
-- not `-l`, or nvim exits before Insert-mode typeahead runs).
--
-- Exit codes: 0 all passed, 1 a case failed, 2 the runner broke, 3 timeout,
-- 77 skipped (the reason is printed as `SKIP: …`).
local plugin = assert(os.getenv("MINIMAX_NVIM_PLUGIN"), "MINIMAX_NVIM_PLUGIN is not set")
local spec_path = assert(os.getenv("MINIMAX_NVIM_SPEC"), "MINIMAX_NVIM_SPEC is not set")
local timeout_s = tonumber(os.getenv("MINIMAX_NVIM_TIMEOUT") or "") or 30

local function say(line)
  io.stderr:write(line .. "\n")
end

local function finish(code)
  for _, client in ipairs(vim.lsp.get_clients()) do
    pcall(function()
      client:stop(true)
    end)
  end
  if code == 0 then
    vim.cmd("qall!")
  else
    vim.cmd("cquit " .. code)
  end
end

local ok_setup, setup_err = xpcall(function()
  vim.opt.runtimepath:prepend(plugin)
  vim.opt.runtimepath:append(plugin .. "/after")
  vim.opt.swapfile = false
  vim.opt.shadafile = "NONE"
  vim.cmd("filetype on")
  vim.cmd("runtime! plugin/minimax.lua")
end, debug.traceback)
if not ok_setup then
  say("runner setup failed: " .. tostring(setup_err))
  finish(2)
  return
end

local T = dofile(plugin .. "/tests/helpers.lua")
_G.T = T

local cases = dofile(spec_path)
local failures, skipped, passed = 0, nil, 0

local function run_all()
  for _, case in ipairs(cases) do
    local name, fn = case[1], case[2]
    T.reset()
    local ok, err = xpcall(fn, function(e)
      if type(e) == "table" and e.skip then
        return e
      end
      return debug.traceback(tostring(e), 2)
    end)
    if ok then
      passed = passed + 1
      say("ok    " .. name)
    elseif type(err) == "table" and err.skip then
      -- A skip means a missing feature the remaining cases build on: stop here.
      skipped = err.skip
      say("skip  " .. name .. ": " .. err.skip)
      break
    else
      failures = failures + 1
      say("FAIL  " .. name .. "\n" .. tostring(err))
    end
    -- Leave Insert mode and close extra windows before the next case.
    pcall(vim.cmd, "stopinsert")
  end
end

vim.defer_fn(function()
  say(("TIMEOUT after %d s in %s"):format(timeout_s, spec_path))
  finish(3)
end, timeout_s * 1000)

local co = coroutine.create(function()
  local ok, err = xpcall(run_all, debug.traceback)
  if not ok then
    say("runner error: " .. tostring(err))
    return 2
  end
  say(("%d passed, %d failed"):format(passed, failures))
  if failures > 0 then
    return 1
  end
  if skipped and passed == 0 then
    say("SKIP: " .. skipped)
    return 77
  end
  return 0
end)
T._co = co
T._finish = function(ok, code)
  if not ok then
    say("runner crashed: " .. tostring(code))
    finish(2)
  else
    finish(code)
  end
end

-- Start after the -c commands have finished, from the main loop.
vim.schedule(T._resume)
