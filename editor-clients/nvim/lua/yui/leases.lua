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

---@type table<string, yui.Lock[]> locks by workspace root
local by_root = {}

---@param o yui.LeaseOptions
function M.configure(o)
  opts = vim.tbl_extend("force", opts, o or {})
end

--- Replace the lease table of the workspace at `root` and redraw the marks.
---@param root string
---@param raw_locks table[]
function M.set(root, raw_locks)
  local locks = {}
  for _, raw in ipairs(raw_locks or {}) do
    table.insert(locks, record.lock(raw))
  end
  by_root[vim.fs.normalize(root)] = locks
  M.refresh()
end

--- Every known lease, with the root it belongs to.
---@return { root: string, lock: yui.Lock }[]
function M.all()
  local out = {}
  for root, locks in pairs(by_root) do
    for _, lock in ipairs(locks) do
      table.insert(out, { root = root, lock = lock })
    end
  end
  table.sort(out, function(a, b)
    return a.lock.path < b.lock.path
  end)
  return out
end

--- True when a lease path (a file or a glob) covers `rel`.
---@param pattern string
---@param rel string
---@return boolean
function M.covers(pattern, rel)
  if pattern == rel then
    return true
  end
  if not pattern:find("[%*%?%[{]") then
    -- A plain directory lease covers what is under it.
    return vim.startswith(rel, pattern:gsub("/$", "") .. "/")
  end
  local ok, lpeg_pattern = pcall(vim.glob.to_lpeg, pattern)
  return ok and lpeg_pattern:match(rel) ~= nil
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
  for root, locks in pairs(by_root) do
    if vim.startswith(path, root .. "/") then
      local rel = path:sub(#root + 2)
      for _, lock in ipairs(locks) do
        if M.covers(lock.path, rel) then
          return lock
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
