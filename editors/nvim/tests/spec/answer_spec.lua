-- Streamed answers: :'<,'>MiniMax explain and :MiniMax chat render in a markdown window
-- that fills while the model streams, ends with the final text, closes with `q` and can
-- be kept as a normal buffer with <CR>.
local EXPLANATION = "MMX-EXPLAIN:" -- prefixes of the fake model's answers (test_nvim.py)
local CHAT_ANSWER = "MMX-CHAT:"

local client, bufnr

--- The answer window and buffer, once open.
local function answer_window()
  return T.wait(function()
    local win = T.find_window("^minimax://answer/")
    return win
  end, "the answer window")
end

return {
  {
    "explain streams into a float",
    function()
      T.setup({})
      client, bufnr = T.open("pkg/main.py")
      T.need_command(client, "minimax.explain")
      local chunks, ids = {}, {}
      local on_delta = require("minimax.stream").on_delta
      require("minimax.stream").on_delta = function(params)
        chunks[#chunks + 1] = params.text
        ids[params.requestId] = true
        return on_delta(params)
      end
      vim.cmd("4,6MiniMax explain")
      local win = answer_window()
      T.ok(vim.api.nvim_win_get_config(win).relative ~= "", "a floating window")
      local buf = vim.api.nvim_win_get_buf(win)
      T.eq(vim.bo[buf].filetype, "markdown", "answer filetype")
      T.wait(function()
        return table.concat(T.lines(buf), "\n"):find(EXPLANATION, 1, true)
      end, "the explanation", 20000)
      T.ok(#chunks > 1, "the answer to arrive in several streamed deltas")
      T.contains(table.concat(chunks), EXPLANATION, "streamed text")
      T.eq(vim.tbl_count(ids), 1, "one requestId")
      T.ok(next(ids):match("^nvim%-%d+%-%d+$"), "the plugin's own requestId")
      require("minimax.stream").on_delta = on_delta
      T.wait(function()
        return require("minimax.stream").count() == 0
      end, "the request to finish")
      T.contains(T.lines(buf), EXPLANATION, "final text")
      vim.api.nvim_set_current_win(win)
      T.feed("q")
      T.ok(not vim.api.nvim_win_is_valid(win), "q closes the window")
      T.ok(not vim.api.nvim_buf_is_valid(buf), "the scratch buffer is gone")
      T.eq(vim.api.nvim_get_current_buf(), bufnr, "back in the source buffer")
    end,
  },
  {
    "explain on a visual selection sends that range",
    function()
      local sent
      local execute = require("minimax.client").execute
      require("minimax.client").execute = function(c, command, argument, ...)
        sent = argument
        return execute(c, command, argument, ...)
      end
      vim.api.nvim_win_set_cursor(0, { 5, 4 })
      T.feed("v3e<Esc>")
      vim.cmd("'<,'>MiniMax explain")
      require("minimax.client").execute = execute
      T.eq(sent.range, {
        start = { line = 4, character = 4 },
        ["end"] = { line = 4, character = 18 },
      }, "LSP range of `total = helper`")
      T.eq(sent.uri, vim.uri_from_bufnr(bufnr), "uri")
      local win = answer_window()
      local buf = vim.api.nvim_win_get_buf(win)
      T.wait(function()
        return table.concat(T.lines(buf), "\n"):find(EXPLANATION, 1, true)
      end, "the explanation", 20000)
      vim.api.nvim_set_current_win(win)
      T.feed("<CR>")
      T.ok(vim.api.nvim_buf_is_valid(buf), "kept buffer")
      T.ok(vim.bo[buf].buflisted, "kept buffer is listed")
      local kept = vim.fn.bufwinid(buf)
      T.ok(
        kept ~= -1 and vim.api.nvim_win_get_config(kept).relative == "",
        "shown in a normal window"
      )
      T.contains(T.lines(buf), EXPLANATION, "kept text")
      vim.cmd("only")
      vim.cmd("buffer " .. bufnr)
    end,
  },
  {
    "chat answers and continues the conversation",
    function()
      T.need_command(client, "minimax.chat")
      local sent = {}
      local execute = require("minimax.client").execute
      require("minimax.client").execute = function(c, command, argument, ...)
        sent[#sent + 1] = vim.deepcopy(argument)
        return execute(c, command, argument, ...)
      end
      vim.cmd("MiniMax chat what does helper do?")
      local win = answer_window()
      local buf = vim.api.nvim_win_get_buf(win)
      T.wait(function()
        return table.concat(T.lines(buf), "\n"):find(CHAT_ANSWER, 1, true)
      end, "the chat answer", 20000)
      T.wait(function()
        return require("minimax").conversation_id
      end, "a conversation id")
      vim.api.nvim_win_close(win, true)
      vim.cmd("MiniMax chat and why?")
      local second = answer_window()
      T.wait(function()
        return table
          .concat(T.lines(vim.api.nvim_win_get_buf(second)), "\n")
          :find(CHAT_ANSWER, 1, true)
      end, "the second answer", 20000)
      vim.api.nvim_win_close(second, true)
      require("minimax.client").execute = execute
      T.eq(sent[1].prompt, "what does helper do?", "first prompt")
      T.eq(sent[1].uri, vim.uri_from_bufnr(bufnr), "the current file goes along")
      T.eq(sent[1].conversationId, nil, "a new conversation")
      T.eq(sent[2].conversationId, require("minimax").conversation_id, "the conversation continues")
    end,
  },
}
