-- The plugin's pure parts, without a server: suggestion slicing, the context table,
-- stream routing, status formatting, key fall-through.
return {
  {
    "suggestion: remaining text after what is typed",
    function()
      local s = require("minimax.suggestion")
      T.eq(s.remaining("value * 3", ""), "value * 3", "no range")
      T.eq(s.remaining("total = value", "total = "), "value", "typed prefix")
      T.eq(s.remaining("total = value", "count"), nil, "diverging text")
    end,
  },
  {
    "suggestion: word and line slices",
    function()
      local s = require("minimax.suggestion")
      T.eq(s.next_word("value * 3"), "value", "word")
      T.eq(s.next_word(" * 3"), " *", "punctuation run with its blank")
      T.eq(s.next_word("  helper(x)"), "  helper", "leading blanks")
      T.eq(s.next_word("\n    return x"), "\n    ", "line break and indent")
      T.eq(s.next_line("a + b\nreturn c"), "a + b", "rest of the line")
      T.eq(s.next_line("\nreturn c\nmore"), "\nreturn c", "break and the next line")
      T.eq(s.take("x = 1\ny", "all"), "x = 1\ny", "all")
      T.eq(s.byte_col("héllo", 2, "utf-16"), 3, "UTF-16 offset to byte column")
      T.eq(s.byte_col("abc", 9, "utf-8"), 3, "clamped")
    end,
  },
  {
    "suggestion: insert moves the cursor after the text",
    function()
      vim.cmd("enew")
      vim.api.nvim_buf_set_lines(0, 0, -1, false, { "ab" })
      vim.api.nvim_win_set_cursor(0, { 1, 1 })
      require("minimax.suggestion").insert("X\nYZ")
      T.eq(T.lines(), { "aX", "YZb" }, "buffer")
      T.eq(vim.api.nvim_win_get_cursor(0), { 2, 2 }, "cursor")
      vim.cmd("bwipeout!")
    end,
  },
  {
    "context: the manifest as an aligned table",
    function()
      local lines = require("minimax.context").format({
        task = "explain",
        budget = 6000,
        tokens = 330,
        workspace = "/w",
        items = {
          {
            path = "pkg/util.py",
            start_line = 1,
            end_line = 40,
            mode = "outline",
            tokens = 310,
            reason = "imported",
          },
          {
            path = "a.py",
            start_line = 3,
            end_line = 3,
            mode = "full",
            tokens = 20,
            reason = "current file",
          },
        },
      })
      T.eq(lines[3], "task: explain   tokens: 330 / 6000   items: 2", "summary")
      T.eq(lines[4], "workspace: /w", "workspace")
      T.eq(lines[6], "#  path         lines  mode     tokens  reason", "header")
      T.eq(lines[8], "1  pkg/util.py  1-40   outline     310  imported", "first row")
      T.eq(lines[9], "2  a.py         3      full         20  current file", "second row")
      local inactive = require("minimax.context").format({
        inactive = true,
        reason = "secret",
        message = "MiniMax is off for this file (secret); nothing is sent.",
      })
      T.contains(inactive, "MiniMax is off for this file (secret)")
    end,
  },
  {
    "stream: deltas reach the bound sink, or the oldest waiting one",
    function()
      local stream = require("minimax.stream")
      local a, b = {}, {}
      local sa = stream.open({
        on_text = function(t)
          a[#a + 1] = t
        end,
      })
      local sb = stream.open({
        on_text = function(t)
          b[#b + 1] = t
        end,
      })
      local sc, id_c = stream.open({
        on_text = function(t)
          b[#b + 1] = "c:" .. t
        end,
      })
      stream.on_delta({ requestId = id_c, text = "own id" })
      stream.bind(sb, 7)
      stream.on_delta({ requestId = 7, text = "to b" })
      stream.on_delta({ requestId = "srv-1", text = "to a" })
      stream.on_delta({ requestId = "srv-1", text = " again" })
      stream.on_delta({ requestId = "srv-1", text = "hidden", kind = "thinking" })
      T.eq(a, { "to a", " again" }, "first sink")
      T.eq(b, { "c:own id", "to b" }, "the client-chosen id, then the bound LSP id")
      stream.close(sa)
      stream.close(sb)
      stream.close(sc)
      T.eq(stream.count(), 0, "open streams")
    end,
  },
  {
    "status: statusline text and :MiniMax status lines",
    function()
      local lines = require("minimax").format_status({
        state = "ready",
        message = "Ready: 5 files indexed",
        model = "MiniMax-M3",
        completionModel = "MiniMax-M3",
        api = "anthropic",
        keyPresent = false,
        workspaces = { { name = "project", files = 5, symbols = 4, state = "ready" } },
        usage = { requests = 2, inputTokens = 100, outputTokens = 10, cacheHitShare = 0.716 },
      })
      T.eq(lines[1], "state: ready — Ready: 5 files indexed", "state line")
      T.eq(lines[3], "API key: missing", "key line")
      T.eq(lines[4], "workspace project: 5 files, 4 symbols (ready)", "workspace line")
      T.eq(lines[5], "usage: 2 requests, 100 in / 10 out tokens, cache hit 72%", "usage line")
    end,
  },
  {
    "keys: an inactive key falls through to the earlier mapping",
    function()
      vim.cmd("enew")
      local buf = vim.api.nvim_get_current_buf()
      local fired = 0
      vim.keymap.set("i", "<F7>", function()
        fired = fired + 1
      end, { buffer = buf })
      local active = false
      local unmap = require("minimax.keys").map(buf, "<F7>", function()
        return active
      end, "vim.b.minimax_test_hit = true", "test")
      T.feed("i<F7>")
      T.eq(fired, 1, "the earlier mapping ran")
      active = true
      T.feed("<F7><Esc>")
      T.eq(vim.b.minimax_test_hit, true, "the action ran")
      T.eq(fired, 1, "the earlier mapping was not run again")
      unmap()
      vim.cmd("bwipeout!")
    end,
  },
  {
    "answer: a split window streams, finishes, and q closes it",
    function()
      local config = require("minimax.config")
      config.set((config.resolve({ answer = { layout = "split" } })))
      local source = vim.api.nvim_get_current_win()
      local answer = require("minimax.answer").open("MiniMax: test")
      T.eq(vim.api.nvim_win_get_config(answer.winid).relative, "", "a split, not a float")
      answer:append("# Title\nfirst ")
      answer:append("line")
      T.eq(T.lines(answer.bufnr), { "# Title", "first line" }, "streamed text")
      answer:finish("final **answer**")
      T.eq(T.lines(answer.bufnr), { "final **answer**" }, "final text")
      answer:append("late delta")
      T.eq(T.lines(answer.bufnr), { "final **answer**" }, "nothing after the end")
      T.ok(not vim.bo[answer.bufnr].modifiable, "read-only while shown")
      T.feed("q")
      T.ok(not vim.api.nvim_buf_is_valid(answer.bufnr), "q wiped the scratch buffer")
      T.eq(vim.api.nvim_get_current_win(), source, "back in the source window")
      config.set(config.defaults)
    end,
  },
}
