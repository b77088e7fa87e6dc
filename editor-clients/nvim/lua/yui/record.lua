-- Turning the server's wire shapes into the plugin's own records.
--
-- Notifications (`yui/taskUpdate`, `yui/locksChanged`) use snake_case fields while command
-- results (`yui.listTasks`, `yui.listLocks`) use camelCase, so every read goes through `get`.
local M = {}

--- A field by its snake_case name, falling back to the camelCase spelling.
---@param t table
---@param snake string
---@return any
function M.get(t, snake)
  local value = t[snake]
  if value == nil then
    local camel = snake:gsub("_(%l)", string.upper)
    value = t[camel]
  end
  if value == vim.NIL then
    return nil
  end
  return value
end

---@class yui.Task
---@field id string
---@field title string
---@field agent string
---@field status string
---@field progress number 0..1
---@field message string
---@field files string[]
---@field error string?
---@field outcome string? "changed" | "no_changes" once completed
---@field agent_errors string[]

---@param id string
---@param title string?
---@param agent string?
---@param state table where status, progress, message, files and error are read
---@return yui.Task
local function task_record(id, title, agent, state)
  local get = M.get
  return {
    id = id,
    title = title or "",
    agent = agent or "",
    status = get(state, "status") or "pending",
    progress = tonumber(get(state, "progress")) or 0,
    message = get(state, "message") or "",
    files = get(state, "files_modified") or {},
    error = get(state, "error"),
    outcome = get(state, "outcome"),
    agent_errors = get(state, "agent_errors") or {},
  }
end

--- A task record from a `task_update` message.
---@param msg table
---@return yui.Task
function M.from_update(msg)
  return task_record(M.get(msg, "task_id"), M.get(msg, "title"), M.get(msg, "agent"), msg)
end

--- A task record from one entry of `yui.listTasks` ({task = Task, status, progress...}).
---@param info table
---@return yui.Task
function M.from_info(info)
  local task = M.get(info, "task") or {}
  return task_record(M.get(task, "id"), M.get(task, "title"), M.get(task, "agent"), info)
end

---@class yui.Lock
---@field path string workspace-relative path or glob
---@field task_id string
---@field task_title string
---@field agent string
---@field acquired_at string ISO 8601
---@field expires_at string ISO 8601

--- A lease record from the wire.
---@param raw table
---@return yui.Lock
function M.lock(raw)
  local get = M.get
  return {
    path = get(raw, "file_path"),
    task_id = get(raw, "locked_by"),
    task_title = get(raw, "task_title") or "",
    agent = get(raw, "agent") or "",
    acquired_at = get(raw, "acquired_at") or "",
    expires_at = get(raw, "expires_at") or "",
  }
end

--- Local wall-clock "HH:MM" of an ISO 8601 timestamp (UTC "Z" or "+HH:MM" offsets).
---@param iso string
---@return string
function M.clock(iso)
  local y, mo, d, h, mi, s, zone =
    iso:match("^(%d+)-(%d+)-(%d+)[T ](%d+):(%d+):(%d+)%.?%d*(.*)$")
  if not y then
    return "?"
  end
  local offset = 0
  local sign, oh, om = zone:match("^([+-])(%d%d):?(%d%d)$")
  if sign then
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  end
  -- os.time reads a table as local time; correct by this machine's UTC offset.
  local as_local = os.time({
    year = tonumber(y), month = tonumber(mo), day = tonumber(d),
    hour = tonumber(h), min = tonumber(mi), sec = tonumber(s),
  })
  local now = os.time()
  local utc_offset = now - os.time(os.date("!*t", now) --[[@as osdateparam]])
  return os.date("%H:%M", as_local - offset + utc_offset) --[[@as string]]
end

return M
