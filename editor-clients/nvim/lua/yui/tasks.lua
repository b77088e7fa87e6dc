-- What the editor knows about tasks: fed by `yui/taskUpdate` and `yui.listTasks`.
local record = require("yui.record")

local M = {}

local ACTIVE = { acquiring = true, running = true, integrating = true }
local WAITING = { pending = true, blocked = true, queued = true }
local TERMINAL = { completed = true, failed = true, cancelled = true, conflict = true }
--- A result waiting for the user (review mode): counted apart from running tasks.
local REVIEW = { review = true }

---@type table<string, yui.Task>
local by_id = {}
---@type string[] ids in the order they were first seen
local order = {}
---@type string? the task that most recently reported progress
local current

M.ACTIVE, M.WAITING, M.TERMINAL, M.REVIEW = ACTIVE, WAITING, TERMINAL, REVIEW

---@param task yui.Task
---@return yui.Task? previous
local function store(task)
  local previous = by_id[task.id]
  if not previous then
    table.insert(order, task.id)
  end
  by_id[task.id] = task
  return previous
end

--- Record one `task_update` message; returns the task and whether it just ended.
---@param msg table
---@return yui.Task task, boolean ended
function M.update(msg)
  local task = record.from_update(msg)
  local known = by_id[task.id]
  if known then
    -- Some updates (progress ticks) may leave the descriptive fields empty.
    task.title = task.title ~= "" and task.title or known.title
    task.agent = task.agent ~= "" and task.agent or known.agent
  end
  local previous = store(task)
  if ACTIVE[task.status] then
    current = task.id
  elseif current == task.id then
    current = nil
  end
  local was_terminal = previous ~= nil and TERMINAL[previous.status] == true
  return task, TERMINAL[task.status] == true and not was_terminal
end

--- Merge the server's list (`yui.listTasks`) into what is known. Tasks heard of since the
--- request was answered are kept: the list may be older than the latest notifications.
---@param infos table[]
function M.merge(infos)
  for _, info in ipairs(infos) do
    local task = record.from_info(info)
    local known = by_id[task.id]
    if not (known and TERMINAL[known.status] and not TERMINAL[task.status]) then
      store(task)
    end
  end
end

--- Every known task, oldest first.
---@return yui.Task[]
function M.all()
  local out = {}
  for _, id in ipairs(order) do
    table.insert(out, by_id[id])
  end
  return out
end

---@param id string
---@return yui.Task?
function M.get(id)
  return by_id[id]
end

--- Forget finished tasks (the list and the failed count start afresh).
function M.clear_finished()
  local keep = {}
  for _, id in ipairs(order) do
    if TERMINAL[by_id[id].status] then
      by_id[id] = nil
    else
      table.insert(keep, id)
    end
  end
  order = keep
end

---@class yui.Counts
---@field running integer
---@field queued integer
---@field failed integer
---@field done integer
---@field review integer

---@return yui.Counts
function M.counts()
  local c = { running = 0, queued = 0, failed = 0, done = 0, review = 0 }
  for _, task in pairs(by_id) do
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
---@return yui.Task?
function M.current()
  if current and by_id[current] and ACTIVE[by_id[current].status] then
    return by_id[current]
  end
  for i = #order, 1, -1 do
    local task = by_id[order[i]]
    if ACTIVE[task.status] then
      return task
    end
  end
  return nil
end

--- A one-line summary: "yui: 2 running, 1 queued | Fix parser 40%"; "" when idle.
---@return string
function M.statusline()
  local c = M.counts()
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
  local task = M.current()
  if task then
    local name = task.title ~= "" and task.title or task.id
    line = line .. string.format(" | %s %d%%", name, math.floor(task.progress * 100 + 0.5))
  end
  return line
end

--- Forget everything (tests, and a server restart).
function M.reset()
  by_id, order, current = {}, {}, nil
end

return M
