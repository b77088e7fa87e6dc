-- yui.nvim: run several coding agents in parallel from Neovim through the yui-lsp server.
local leases = require("yui.leases")
local tasks = require("yui.tasks")

local M = {}

--- The agent profiles offered by :YuiSubmit; any name defined in [tool.yui.agents] works too.
M.default_agents = { "yui", "kiro", "claude", "codex", "gemini", "aider" }

---@class yui.Options
---@field cmd string[]? how to start the server (default: `yui-lsp`, else `python3 -m yui_lsp`)
---@field root_markers (string|string[])[]? files or folders marking a workspace root, in
---order of priority (a nested list: equal priority, the nearest folder wins)
---@field filetypes string[]? attach only to these (default: every filetype)
---@field settings table? initializationOptions: maxWorkers, applyMode, agents...
---@field agents string[]? agent names offered by :YuiSubmit
---@field notify boolean? vim.notify when a task ends
---@field leases yui.LeaseOptions? signs and virtual text on leased files
M.defaults = {
  cmd = nil,
  -- The nearest repository or yui workspace: a `.yui` in a folder above (yui once run in
  -- the home folder) must not take over every repository below it.
  root_markers = { { ".yui", ".git" }, "pyproject.toml" },
  filetypes = nil,
  settings = {},
  agents = nil,
  notify = true,
  leases = { enabled = true, sign = "🔒", hl = "DiagnosticInfo" },
}

---@type yui.Options
M.options = vim.deepcopy(M.defaults)

--- The server command to use when the user gave none.
---@return string[]
function M.default_cmd()
  if vim.fn.executable("yui-lsp") == 1 then
    return { "yui-lsp" }
  end
  return { vim.fn.executable("python3") == 1 and "python3" or "python", "-m", "yui_lsp" }
end

local function redraw()
  vim.cmd("redrawstatus!")
end

local NOTIFY_LEVEL = {
  completed = vim.log.levels.INFO,
  cancelled = vim.log.levels.INFO,
  failed = vim.log.levels.ERROR,
  conflict = vim.log.levels.WARN,
}

---@param task yui.Task
local function notify_end(task)
  local name = task.title ~= "" and task.title or task.id
  local text = string.format("yui: task '%s' %s", name, task.status)
  local level = NOTIFY_LEVEL[task.status] or vim.log.levels.INFO
  if task.error and task.error ~= "" and task.error ~= task.status then
    text = text .. ": " .. task.error
  elseif task.outcome == "no_changes" then
    text = text .. " with no changes"
    level = vim.log.levels.WARN
    if #task.agent_errors > 0 then
      text = text .. ": " .. table.concat(task.agent_errors, "; ")
    end
  elseif #task.files > 0 then
    text = text .. " (" .. table.concat(task.files, ", ") .. ")"
  end
  if task.status == "conflict" then
    text = text .. " — :YuiResolve " .. task.id
  end
  vim.notify(text, level, { title = "yui" })
end

--- Handler of `yui/taskUpdate`.
function M.on_task_update(_, msg, ctx)
  local task, ended = tasks.update(msg, ctx and ctx.client_id)
  if ended and M.options.notify then
    notify_end(task)
  end
  redraw()
  vim.api.nvim_exec_autocmds("User", { pattern = "YuiTaskUpdate", data = task, modeline = false })
end

--- Handler of `yui/locksChanged`.
function M.on_locks_changed(_, params, ctx)
  params = params or {}
  local root
  if type(params.folder) == "string" and params.folder ~= "" then
    root = params.folder:match("^%a[%w+.-]*:") and vim.uri_to_fname(params.folder) or params.folder
  else
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    root = client and client.root_dir or vim.fn.getcwd()
  end
  leases.set(root, params.locks or {}, params.tasks)
  vim.api.nvim_exec_autocmds("User", { pattern = "YuiLocksChanged", modeline = false })
end

--- Handler of `yui/resultReady` (review mode): say how to apply or discard the result.
function M.on_result_ready(_, params, _)
  local id = params.task_id or params.taskId
  local name = (params.title and params.title ~= "") and params.title or id
  vim.notify(
    string.format("yui: result of '%s' is ready: :YuiDiff %s, then :YuiApply %s or :YuiDiscard %s",
      name, id, id, id),
    vim.log.levels.INFO,
    { title = "yui" }
  )
end

--- The yui client serving buffer `bufnr` (default: current), else any yui client.
---@param bufnr integer?
---@return vim.lsp.Client?
function M.client(bufnr)
  local clients = vim.lsp.get_clients({ name = "yui", bufnr = bufnr or 0 })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = "yui" })
  end
  return clients[1]
end

--- Run a `yui.*` command on the server; `on_result(result)` gets its answer.
---@param command string e.g. "yui.submitTask"
---@param args table? the single camelCase argument object
---@param on_result fun(result: table)?
function M.exec(command, args, on_result)
  local client = M.client()
  if not client then
    vim.notify(
      "yui: the yui language server is not running for this buffer (see :checkhealth yui)",
      vim.log.levels.ERROR
    )
    return
  end
  local params = { command = command, arguments = { args or vim.empty_dict() } }
  client:request("workspace/executeCommand", params, function(err, result)
    if err then
      vim.notify(string.format("yui: %s failed: %s", command, err.message), vim.log.levels.ERROR)
      return
    end
    result = result or {}
    -- Every answer that says something is shown ("the task had already ended" ...).
    if type(result.message) == "string" and result.message ~= "" then
      local level = result.ok == false and vim.log.levels.WARN or vim.log.levels.INFO
      vim.notify("yui: " .. result.message, level, { title = "yui" })
    end
    if on_result then
      on_result(result)
    end
  end)
end

--- Submit one task: {title, prompt, agent, claims?, dependsOn?, timeoutS?, command?, refactor?}.
---@param spec table
---@param on_result fun(result: { taskId: string })?
function M.submit(spec, on_result)
  M.exec("yui.submitTask", spec, on_result)
end

-- M.cancel(id), M.retry(id): control one task by its id.
-- M.apply(id, files?), M.discard(id, files?): a waiting result, all of it or these files.
for name, command in pairs({
  cancel = "yui.cancelTask",
  retry = "yui.retryTask",
  apply = "yui.applyResult",
  discard = "yui.discardResult",
}) do
  M[name] = function(id, files)
    local args = { taskId = id }
    if files and #files > 0 then
      args.files = files
    end
    M.exec(command, args)
  end
end

--- Refresh the task list from the server, then call `done()`.
---@param done fun()?
function M.refresh_tasks(done)
  local client = M.client()
  M.exec("yui.listTasks", nil, function(result)
    tasks.merge(result.tasks or {}, client and client.id)
    redraw()
    if done then
      done()
    end
  end)
end

--- Refresh the lease table from the server, then call `done()`.
---@param done fun()?
function M.refresh_locks(done)
  local client = M.client()
  M.exec("yui.listLocks", nil, function(result)
    leases.set(client and client.root_dir or vim.fn.getcwd(), result.locks or {})
    if done then
      done()
    end
  end)
end

--- Statusline component: "yui: 2 running, 1 queued | Fix parser 40%", or "" when idle.
--- Use as `%{v:lua.require'yui'.statusline()}`.
---@return string
function M.statusline()
  return tasks.statusline()
end

---@return string[]
function M.agents()
  local names = vim.deepcopy(M.options.agents or M.default_agents)
  for name in pairs((M.options.settings or {}).agents or {}) do
    if not vim.tbl_contains(names, name) then
      table.insert(names, name)
    end
  end
  return names
end

--- Whether the server command can be started; warns once (at start) when it cannot.
---@return boolean
function M.server_available()
  local cmd = M.options.cmd or M.default_cmd()
  if vim.fn.executable(cmd[1]) == 1 then
    return true
  end
  if not M.warned_missing then
    M.warned_missing = true
    vim.notify(
      "yui: server command not found: " .. cmd[1] .. " (pip install yui-lsp; see :checkhealth yui)",
      vim.log.levels.WARN
    )
  end
  return false
end

--- True once setup() ran (by the user, or with defaults by plugin/yui.lua).
M.configured = false

--- Register the server with vim.lsp.config / vim.lsp.enable and define the user commands.
---@param opts yui.Options?
function M.setup(opts)
  M.configured = true
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  leases.configure(M.options.leases)
  -- Code actions run these here: their answers are shown, not dropped.
  vim.lsp.commands["yui.showDiff"] = function(command)
    local arg = (command.arguments or {})[1] or {}
    require("yui.review").diff(arg.taskId or arg.task_id)
  end
  local markers = M.options.root_markers
  vim.lsp.config("yui", {
    cmd = M.options.cmd or M.default_cmd(),
    filetypes = M.options.filetypes,
    root_dir = function(bufnr, on_dir)
      -- No file or no root means no coordination domain: stay detached rather than guess.
      if vim.api.nvim_buf_get_name(bufnr) == "" then
        return
      end
      local root = vim.fs.root(bufnr, markers)
      if root then
        on_dir(root)
      end
    end,
    init_options = M.options.settings,
    -- Versioned edits (documentChanges): a result computed on text the buffer no longer
    -- holds is refused and merged again instead of overwriting what was typed meanwhile.
    capabilities = { workspace = { workspaceEdit = { documentChanges = true } } },
    settings = { yui = M.options.settings },
    handlers = {
      ["yui/taskUpdate"] = M.on_task_update,
      ["yui/locksChanged"] = M.on_locks_changed,
      ["yui/resultReady"] = M.on_result_ready,
      ["yui/resultApplied"] = require("yui.review").on_result_applied,
      ["yui/taskLog"] = require("yui.review").on_task_log,
      ["workspace/applyEdit"] = require("yui.review").apply_edit,
    },
    on_exit = function(_, _, client_id)
      -- Its tasks go with it; other roots' clients keep theirs.
      vim.schedule(function()
        tasks.reset(client_id)
        redraw()
      end)
    end,
    on_init = function(client)
      -- Tasks may already be running (another window, the CLI): show them at once.
      vim.schedule(function()
        if not client:is_stopped() then
          M.refresh_tasks()
          M.refresh_locks()
        end
      end)
    end,
  })
  vim.lsp.enable("yui")
  require("yui.commands").define()
  require("yui.spec").setup()
  M.server_available()
  local group = vim.api.nvim_create_augroup("yui.leases", { clear = true })
  vim.api.nvim_create_autocmd({ "BufReadPost", "BufNewFile", "BufFilePost" }, {
    group = group,
    callback = function(args)
      -- An empty file has no line to end: with 'eol' its text would be "\n", not "".
      if args.event == "BufReadPost" and vim.fn.getfsize(args.file) == 0 then
        vim.bo[args.buf].eol = false
      end
      leases.decorate(args.buf)
    end,
  })
end

return M
