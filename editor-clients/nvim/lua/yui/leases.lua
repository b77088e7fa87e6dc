-- Leased files: a sign and a line of virtual text on every open buffer a task is editing,
-- next to the server's own "yui" diagnostic, so a glance at the gutter tells who holds a file.
local record = require("yui.record")

local M = {}

M.ns = vim.api.nvim_create_namespace("yui.leases")

---@class yui.LeaseOptions
---@field enabled boolean
---@field sign string
---@field hl string

---@type yui.LeaseOptions
local opts = { enabled = true, sign = "🔒", hl = "DiagnosticInfo" }

---@type table<string, table<string, yui.Lock[]>> locks by workspace root, then by task
local by_root = {}

---@param o yui.LeaseOptions
function M.configure(o)
  opts = vim.tbl_extend("force", opts, o or {})
end

--- Update the lease table of the workspace at `root` and redraw the marks: without `tasks`
--- (nil or JSON null) `raw_locks` is the whole table; with them, every lease of those tasks
--- is replaced by theirs in `raw_locks` (none: the task holds none any more), as
--- `yui/locksChanged` sends a table once and then the tasks that changed.
---@param root string
---@param raw_locks table[]
---@param tasks string[]?
function M.set(root, raw_locks, tasks)
  root = vim.fs.normalize(root)
  local by_task = {}
  if type(tasks) == "table" then
    by_task = by_root[root] or {}
    for _, task in ipairs(tasks) do
      by_task[task] = nil
    end
  end
  for _, raw in ipairs(raw_locks or {}) do
    local lock = record.lock(raw)
    by_task[lock.task_id] = by_task[lock.task_id] or {}
    table.insert(by_task[lock.task_id], lock)
  end
  by_root[root] = by_task
  M.refresh()
end

--- Every known lease, with the root it belongs to.
---@return { root: string, lock: yui.Lock }[]
function M.all()
  local out = {}
  for root, by_task in pairs(by_root) do
    for _, locks in pairs(by_task) do
      for _, lock in ipairs(locks) do
        table.insert(out, { root = root, lock = lock })
      end
    end
  end
  table.sort(out, function(a, b)
    return a.lock.path < b.lock.path
  end)
  return out
end

--- Claim matching, as every yui matcher does it (tests/fixtures/claims.json): claims are
--- anchored at the workspace root, case-sensitive; `./`, empty and `.` segments are ignored;
--- `{x,y}` stands for each alternative; a claim without wildcards names a file or a folder
--- (and everything below it); `*` and `?` stay inside one segment and match dot files,
--- `**` spans any number of segments (none too), `[ab]`/`[!ab]` are classes; a glob never
--- extends to children of what it matches.

---@param claim string
---@return string[]
local function expand_braces(claim)
  local open = claim:find("{", 1, true)
  if not open then
    return { claim }
  end
  local depth, close = 0, nil
  for i = open, #claim do
    local c = claim:sub(i, i)
    if c == "{" then
      depth = depth + 1
    elseif c == "}" then
      depth = depth - 1
      if depth == 0 then
        close = i
        break
      end
    end
  end
  if not close then
    return { claim }
  end
  local inner, parts, depth2, start = claim:sub(open + 1, close - 1), {}, 0, 1
  for i = 1, #inner do
    local c = inner:sub(i, i)
    if c == "{" then
      depth2 = depth2 + 1
    elseif c == "}" then
      depth2 = depth2 - 1
    elseif c == "," and depth2 == 0 then
      table.insert(parts, inner:sub(start, i - 1))
      start = i + 1
    end
  end
  table.insert(parts, inner:sub(start))
  local out = {}
  for _, part in ipairs(parts) do
    for _, rest in ipairs(expand_braces(claim:sub(1, open - 1) .. part .. claim:sub(close + 1))) do
      table.insert(out, rest)
    end
  end
  return out
end

---@param path string
---@return string[]
local function segments(path)
  local out = {}
  for part in path:gmatch("[^/]+") do
    if part ~= "." then
      table.insert(out, part)
    end
  end
  return out
end

--- A Lua pattern for one glob segment (`*`, `?`, `[...]`, the rest literal).
---@param glob string
---@return string
local function segment_pattern(glob)
  local out, i = { "^" }, 1
  while i <= #glob do
    local c = glob:sub(i, i)
    if c == "*" then
      table.insert(out, ".*")
    elseif c == "?" then
      table.insert(out, ".")
    elseif c == "[" and glob:find("]", i + 2, true) then
      local close = glob:find("]", i + 2, true)
      local body = glob:sub(i + 1, close - 1)
      if body:sub(1, 1) == "!" then
        body = "^" .. body:sub(2)
      end
      table.insert(out, "[" .. body:gsub("%%", "%%%%") .. "]")
      i = close
    else
      table.insert(out, (c:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")))
    end
    i = i + 1
  end
  table.insert(out, "$")
  return table.concat(out)
end

---@param pat string[]
---@param pi integer
---@param path string[]
---@param si integer
---@return boolean
local function match_segments(pat, pi, path, si)
  if pi > #pat then
    return si > #path
  end
  if pat[pi] == "**" then
    for skip = si, #path + 1 do
      if match_segments(pat, pi + 1, path, skip) then
        return true
      end
    end
    return false
  end
  if si > #path or not path[si]:match(segment_pattern(pat[pi])) then
    return false
  end
  return match_segments(pat, pi + 1, path, si + 1)
end

--- True when a claim (a lease path: a file, a folder or a glob) covers `rel`.
---@param claim string
---@param rel string
---@return boolean
function M.covers(claim, rel)
  local path = segments(rel)
  for _, alternative in ipairs(expand_braces(claim)) do
    local pat = segments(alternative)
    if #pat > 0 then
      if not alternative:find("[%*%?%[]") then
        local literal = true
        for i, part in ipairs(pat) do
          if path[i] ~= part then
            literal = false
            break
          end
        end
        if literal and #path >= #pat then
          return true
        end
      elseif match_segments(pat, 1, path, 1) then
        return true
      end
    end
  end
  return false
end

--- The lease covering the file of buffer `bufnr`, if any.
---@param bufnr integer
---@return yui.Lock?
function M.for_buffer(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" then
    return nil
  end
  local path = vim.fs.normalize(vim.fn.fnamemodify(name, ":p"))
  for root, by_task in pairs(by_root) do
    if vim.startswith(path, root .. "/") then
      local rel = path:sub(#root + 2)
      for _, locks in pairs(by_task) do
        for _, lock in ipairs(locks) do
          if M.covers(lock.path, rel) then
            return lock
          end
        end
      end
    end
  end
  return nil
end

--- "leased by 'Fix parser' (kiro) since 10:29, until 10:34"
---@param lock yui.Lock
---@return string
function M.describe(lock)
  local name = lock.task_title ~= "" and lock.task_title or lock.task_id
  local agent = lock.agent ~= "" and (" (" .. lock.agent .. ")") or ""
  return string.format(
    "leased by '%s'%s since %s, until %s",
    name, agent, record.clock(lock.acquired_at), record.clock(lock.expires_at)
  )
end

---@param bufnr integer
function M.decorate(bufnr)
  if not vim.api.nvim_buf_is_loaded(bufnr) then
    return
  end
  vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  local lock = opts.enabled and M.for_buffer(bufnr) or nil
  if not lock then
    return
  end
  vim.api.nvim_buf_set_extmark(bufnr, M.ns, 0, 0, {
    sign_text = opts.sign,
    sign_hl_group = opts.hl,
    virt_text = { { "  " .. M.describe(lock), opts.hl } },
    virt_text_pos = "eol",
    priority = 20,
  })
end

--- Redraw the marks of every loaded buffer.
function M.refresh()
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    M.decorate(bufnr)
  end
end

--- Forget every lease (tests, and a server restart).
function M.reset()
  by_root = {}
  M.refresh()
end

return M
