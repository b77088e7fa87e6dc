-- :YuiTasks — a floating list of tasks that follows their progress live.
local tasks = require("yui.tasks")

local M = {}

local ICON = {
  pending = "·", blocked = "⧖", queued = "…", acquiring = "⇣", running = "▶",
  integrating = "⇄", review = "?", completed = "✓", failed = "✗", cancelled = "⊘", conflict = "!",
}

---@type { buf: integer, win: integer, rows: yui.Task[], autocmd: integer }?
local view

--- One line per task: icon, status, progress, agent, title [id], files touched.
---@param task yui.Task
---@return string
function M.line(task)
  local name = task.title ~= "" and task.title or task.id
  local files = #task.files > 0 and ("  " .. table.concat(task.files, ", ")) or ""
  local detail = task.error or (task.message ~= "" and task.message) or ""
  if detail ~= "" then
    detail = "  — " .. detail:gsub("\n.*", "")
  end
  return string.format(
    "%s %-11s %3d%%  %-8s %s [%s]%s%s",
    ICON[task.status] or "?", task.status, math.floor(task.progress * 100 + 0.5),
    task.agent, name, task.id, files, detail
  )
end

local function render()
  if not view or not vim.api.nvim_buf_is_valid(view.buf) then
    return
  end
  view.rows = tasks.all()
  local lines = vim.tbl_map(M.line, view.rows)
  if #lines == 0 then
    lines = { "No tasks yet. :YuiSubmit starts one." }
  end
  vim.bo[view.buf].modifiable = true
  vim.api.nvim_buf_set_lines(view.buf, 0, -1, false, lines)
  vim.bo[view.buf].modifiable = false
end

function M.close()
  if not view then
    return
  end
  pcall(vim.api.nvim_del_autocmd, view.autocmd)
  if vim.api.nvim_win_is_valid(view.win) then
    vim.api.nvim_win_close(view.win, true)
  end
  view = nil
end

---@return yui.Task?
local function task_under_cursor()
  if not view then
    return nil
  end
  return view.rows[vim.api.nvim_win_get_cursor(view.win)[1]]
end

---@param action fun(id: string)
local function on_task(action)
  return function()
    local task = task_under_cursor()
    if task then
      action(task.id)
    end
  end
end

--- Open (or focus) the task list.
function M.open()
  local yui = require("yui")
  if view and vim.api.nvim_win_is_valid(view.win) then
    vim.api.nvim_set_current_win(view.win)
    return
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].filetype = "yuitasks"
  local width = math.min(math.max(60, math.floor(vim.o.columns * 0.8)), vim.o.columns - 4)
  local height = math.min(12, math.max(3, vim.o.lines - 6))
  local win = vim.api.nvim_open_win(buf, true, {
    relative = "editor",
    width = width,
    height = height,
    row = math.floor((vim.o.lines - height) / 2),
    col = math.floor((vim.o.columns - width) / 2),
    style = "minimal",
    border = "rounded",
    title = " yui tasks — c cancel · r retry · a apply · d discard · q close ",
    title_pos = "center",
  })
  local autocmd = vim.api.nvim_create_autocmd("User", {
    pattern = "YuiTaskUpdate",
    callback = render,
  })
  view = { buf = buf, win = win, rows = {}, autocmd = autocmd }
  local map = function(lhs, fn)
    vim.keymap.set("n", lhs, fn, { buffer = buf, nowait = true })
  end
  map("q", M.close)
  map("<Esc>", M.close)
  map("c", on_task(yui.cancel))
  map("r", on_task(yui.retry))
  map("a", on_task(yui.apply))
  map("d", on_task(yui.discard))
  map("D", on_task(require("yui.review").diff))
  map("l", on_task(require("yui.review").log))
  map("R", function()
    yui.refresh_tasks(render)
  end)
  vim.api.nvim_create_autocmd("WinClosed", {
    pattern = tostring(win),
    once = true,
    callback = M.close,
  })
  render()
  if yui.client() then
    yui.refresh_tasks(render)
  end
end

--- Lines currently shown (for tests and scripts); nil when closed.
---@return string[]?
function M.lines()
  if not view or not vim.api.nvim_buf_is_valid(view.buf) then
    return nil
  end
  return vim.api.nvim_buf_get_lines(view.buf, 0, -1, false)
end

return M
