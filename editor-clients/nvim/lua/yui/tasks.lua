-- What the editor knows about tasks: fed by `yui/taskUpdate` and `yui.listTasks`.
--
-- Kept per LSP client (one server per workspace root): two roots never mix their tasks, and
-- a client that stops takes only its own tasks with it. Functions given no client id look
-- at every client's tasks (the statusline, :YuiTasks).
local record = require("yui.record")

local M = {}

local ACTIVE = { acquiring = true, running = true, integrating = true }
local WAITING = { pending = true, blocked = true, queued = true }
local TERMINAL = { completed = true, failed = true, cancelled = true, conflict = true }
--- A result waiting for the user (review mode): counted apart from running tasks.
local REVIEW = { review = true }

M.ACTIVE, M.WAITING, M.TERMINAL, M.REVIEW = ACTIVE, WAITING, TERMINAL, REVIEW

---@class yui.TaskStore
---@field by_id table<string, yui.Task>
---@field order string[] ids in the order they were first seen
---@field current string? the task that most recently reported progress
local Store = {}
Store.__index = Store

---@type table<integer, yui.TaskStore> by client id (0: updates with no client)
local stores = {}

---@param client_id integer?
---@return yui.TaskStore
function M.store(client_id)
  local key = client_id or 0
  if not stores[key] then
    stores[key] = setmetatable({ by_id = {}, order = {}, current = nil }, Store)
  end
  return stores[key]
end

---@param client_id integer?
---@return yui.TaskStore[]
local function chosen(client_id)
  if client_id then
    return { M.store(client_id) }
  end
  local keys = vim.tbl_keys(stores)
  table.sort(keys)
  return vim.tbl_map(function(k)
    return stores[k]
  end, keys)
end

---@param task yui.Task
---@return yui.Task? previous
function Store:store(task)
  local previous = self.by_id[task.id]
  if not previous then
    table.insert(self.order, task.id)
  end
  self.by_id[task.id] = task
  return previous
end

--- Record one `task_update` message; returns the task and whether it just ended.
---@param msg table
---@param client_id integer?
---@return yui.Task task, boolean ended
function M.update(msg, client_id)
  local s = M.store(client_id)
  local task = record.from_update(msg)
  local known = s.by_id[task.id]
  if known then
    -- Some updates (progress ticks) may leave the descriptive fields empty.
    task.title = task.title ~= "" and task.title or known.title
    task.agent = task.agent ~= "" and task.agent or known.agent
  end
  local previous = s:store(task)
  if ACTIVE[task.status] then
    s.current = task.id
  elseif s.current == task.id then
    s.current = nil
  end
  local was_terminal = previous ~= nil and TERMINAL[previous.status] == true
  return task, TERMINAL[task.status] == true and not was_terminal
end

--- Merge the server's list (`yui.listTasks`) into what is known. Tasks heard of since the
--- request was answered are kept: the list may be older than the latest notifications.
---@param infos table[]
---@param client_id integer?
function M.merge(infos, client_id)
  local s = M.store(client_id)
  for _, info in ipairs(infos) do
    local task = record.from_info(info)
    local known = s.by_id[task.id]
    if not (known and TERMINAL[known.status] and not TERMINAL[task.status]) then
      s:store(task)
    end
  end
end

--- Every known task, oldest first (of one client, or of all).
---@param client_id integer?
---@return yui.Task[]
function M.all(client_id)
  local out = {}
  for _, s in ipairs(chosen(client_id)) do
    for _, id in ipairs(s.order) do
      table.insert(out, s.by_id[id])
    end
  end
  return out
end

---@param id string
---@return yui.Task?
function M.get(id)
  for _, s in pairs(stores) do
    if s.by_id[id] then
      return s.by_id[id]
    end
  end
  return nil
end

--- Forget finished tasks (the list and the failed count start afresh).
---@param client_id integer?
function M.clear_finished(client_id)
  for _, s in ipairs(chosen(client_id)) do
    local keep = {}
    for _, id in ipairs(s.order) do
      if TERMINAL[s.by_id[id].status] then
        s.by_id[id] = nil
      else
        table.insert(keep, id)
      end
    end
    s.order = keep
  end
end

---@class yui.Counts
---@field running integer
---@field queued integer
---@field failed integer
---@field done integer
---@field review integer

---@param client_id integer?
---@return yui.Counts
function M.counts(client_id)
  local c = { running = 0, queued = 0, failed = 0, done = 0, review = 0 }
  for _, task in ipairs(M.all(client_id)) do
    if REVIEW[task.status] then
      c.review = c.review + 1
    elseif ACTIVE[task.status] then
      c.running = c.running + 1
    elseif WAITING[task.status] then
      c.queued = c.queued + 1
    elseif task.status == "failed" or task.status == "conflict" then
      c.failed = c.failed + 1
    elseif task.status == "completed" then
      c.done = c.done + 1
    end
  end
  return c
end

--- The running task to show in the statusline: the last one that reported.
---@param client_id integer?
---@return yui.Task?
function M.current(client_id)
  local list = chosen(client_id)
  for i = #list, 1, -1 do
    local s = list[i]
    if s.current and s.by_id[s.current] and ACTIVE[s.by_id[s.current].status] then
      return s.by_id[s.current]
    end
  end
  local all = M.all(client_id)
  for i = #all, 1, -1 do
    if ACTIVE[all[i].status] then
      return all[i]
    end
  end
  return nil
end

--- A one-line summary: "yui: 2 running, 1 queued | Fix parser 40%"; "" when idle.
---@param client_id integer?
---@return string
function M.statusline(client_id)
  local c = M.counts(client_id)
  local parts = {}
  if c.running > 0 then
    table.insert(parts, c.running .. " running")
  end
  if c.queued > 0 then
    table.insert(parts, c.queued .. " queued")
  end
  if c.review > 0 then
    table.insert(parts, c.review .. " to review")
  end
  if c.failed > 0 then
    table.insert(parts, c.failed .. " failed")
  end
  if #parts == 0 then
    return ""
  end
  local line = "yui: " .. table.concat(parts, ", ")
  local task = M.current(client_id)
  if task then
    local name = task.title ~= "" and task.title or task.id
    line = line .. string.format(" | %s %d%%", name, math.floor(task.progress * 100 + 0.5))
  end
  return line
end

--- Forget one client's tasks (it stopped), or everything (tests).
---@param client_id integer?
function M.reset(client_id)
  if client_id then
    stores[client_id] = nil
  else
    stores = {}
  end
end

return M
