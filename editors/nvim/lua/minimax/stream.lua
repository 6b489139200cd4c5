--- Routing `minimax/streamDelta {requestId, text, kind?}` notifications to answer windows.
---
--- `open()` registers a sink and gives it a fresh `requestId` that the caller passes in the
--- command's argument (the server uses a client-chosen id for its deltas, so deltas that
--- arrive before the command's result still find their window). For a server that picks
--- its own ids, the LSP request id is also bound (`bind()`), and a delta with an unknown
--- id goes to the oldest sink that has seen no delta yet. A delta that matches nothing
--- (a command Neovim ran itself, from the code-action menu) goes to `orphan_handler`.
--- `close()` forgets a sink.

local M = {}

---@class minimax.StreamSink
---@field on_text fun(text: string)
---@field on_thinking? fun(text: string)

---@class (private) minimax.Stream
---@field sink minimax.StreamSink
---@field ids table<any, true>
---@field seen boolean
---@field orphan? boolean Opened by `orphan_handler`.

---@type minimax.Stream[]
local streams = {}
local counter = 0

--- Called for a delta that belongs to no open stream, e.g. an explain started from the
--- code-action menu (Neovim sends that `workspace/executeCommand` itself). It may return
--- a sink to show the answer in; init.lua sets it.
---@type (fun(request_id: any): minimax.StreamSink?)?
M.orphan_handler = nil

--- Register a sink for an answer that is about to be requested.
---@param sink minimax.StreamSink
---@return minimax.Stream stream, string request_id the `requestId` to send
function M.open(sink)
  counter = counter + 1
  local request_id = ("nvim-%d-%d"):format(vim.fn.getpid(), counter)
  local stream = { sink = sink, ids = { [request_id] = true }, seen = false }
  streams[#streams + 1] = stream
  return stream, request_id
end

--- Bind the LSP request id of the request that will stream into `stream`.
---@param stream minimax.Stream
---@param request_id any
function M.bind(stream, request_id)
  if request_id ~= nil then
    stream.ids[request_id] = true
  end
end

--- Forget a stream (its request finished or was cancelled).
---@param stream minimax.Stream
function M.close(stream)
  for i, s in ipairs(streams) do
    if s == stream then
      table.remove(streams, i)
      return
    end
  end
end

---@param request_id any
---@return minimax.Stream?
local function find(request_id)
  for _, stream in ipairs(streams) do
    if stream.ids[request_id] then
      return stream
    end
  end
  for _, stream in ipairs(streams) do
    if not stream.seen then
      stream.ids[request_id] = true
      return stream
    end
  end
  return nil
end

--- Handle one `minimax/streamDelta` notification.
---@param params table
function M.on_delta(params)
  if type(params) ~= "table" or type(params.text) ~= "string" then
    return
  end
  local stream = find(params.requestId)
  if not stream and M.orphan_handler and params.kind ~= "thinking" then
    local sink = M.orphan_handler(params.requestId)
    if sink then
      stream = M.open(sink)
      stream.orphan = true
      M.bind(stream, params.requestId)
    end
  end
  if not stream then
    return -- A late delta for an answer whose window is gone.
  end
  stream.seen = true
  local kind = params.kind
  if kind == "thinking" then
    if stream.sink.on_thinking then
      stream.sink.on_thinking(params.text)
    end
  else
    stream.sink.on_text(params.text)
  end
end

--- Forget the streams `orphan_handler` opened (their command has answered).
function M.close_orphans()
  for i = #streams, 1, -1 do
    if streams[i].orphan then
      table.remove(streams, i)
    end
  end
end

--- Number of open streams (for tests and `:checkhealth`).
---@return integer
function M.count()
  return #streams
end

return M
