-- The :Yui* user commands. Each one works with arguments (scriptable) or asks for what is
-- missing through vim.ui.input / vim.ui.select (so dressing/telescope/snacks pickers apply).
local tasks = require("yui.tasks")

local M = {}

---@param statuses table<string, boolean>
---@return yui.Task[]
local function tasks_in(statuses)
  return vim.tbl_filter(function(t)
    return statuses[t.status] == true
  end, tasks.all())
end

---@param task yui.Task
---@return string
local function label(task)
  local name = task.title ~= "" and task.title or task.id
  return string.format("%s  [%s, %s, %d%%]", name, task.agent, task.status, task.progress * 100)
end

--- Run `action(id)` on the id given, else on one picked from the tasks matching `statuses`.
---@param id string
---@param statuses table<string, boolean>
---@param verb string
---@param action fun(id: string)
local function with_task(id, statuses, verb, action)
  if id ~= "" then
    action(id)
    return
  end
  local choices = tasks_in(statuses)
  if #choices == 0 then
    vim.notify("yui: no task to " .. verb, vim.log.levels.WARN)
    return
  end
  vim.ui.select(choices, { prompt = "Task to " .. verb, format_item = label }, function(task)
    if task then
      action(task.id)
    end
  end)
end

local function complete_ids()
  return vim.tbl_map(function(t)
    return t.id
  end, tasks.all())
end

--- Workspace-relative path of the current buffer, or "".
---@return string
local function current_rel()
  local yui = require("yui")
  local client = yui.client()
  local name = vim.api.nvim_buf_get_name(0)
  if not client or not client.root_dir or name == "" then
    return ""
  end
  local path = vim.fs.normalize(vim.fn.fnamemodify(name, ":p"))
  local root = vim.fs.normalize(client.root_dir)
  return vim.startswith(path, root .. "/") and path:sub(#root + 2) or ""
end

---@param text string
---@return string[]
local function split_list(text)
  return vim.split(text or "", "[,%s]+", { trimempty = true })
end

local function submitted(result)
  vim.notify("yui: submitted task " .. tostring(result.taskId), vim.log.levels.INFO)
end

--- The agents the server offers (`yui.listAgents`: name, description, takes, available,
--- reason), else the configured names as prompt agents.
---@param done fun(agents: table[])
local function list_agents(done)
  local yui = require("yui")
  local client = yui.client()
  local params = { command = "yui.listAgents", arguments = { vim.empty_dict() } }
  client:request("workspace/executeCommand", params, function(err, result)
    local agents = (not err and result and result.agents) or {}
    if #agents == 0 then
      agents = vim.tbl_map(function(name)
        return { name = name, takes = name == "shell" and "command" or "prompt", available = true }
      end, vim.list_extend(yui.agents(), { "shell" }))
    end
    done(agents)
  end)
end

---@param agent table
---@return string
local function agent_label(agent)
  local text = agent.name
  if agent.description and agent.description ~= "" then
    text = text .. " — " .. agent.description
  end
  if agent.available == false then
    text = text .. " (unavailable: " .. tostring(agent.reason or "?") .. ")"
  end
  return text
end

--- A command task: the typed line split by the server (shell-word rules), shown as argv,
--- then submitted once confirmed.
---@param spec table title, agent, claims
---@param line string
local function submit_command(spec, line)
  local yui = require("yui")
  yui.exec("yui.parseCommand", { commandLine = line }, function(parsed)
    local argv = parsed.argv or {}
    local prompt = "Run " .. (parsed.display or table.concat(argv, " ")) .. " ?"
    vim.ui.select({ "Run", "Cancel" }, { prompt = prompt }, function(choice)
      if choice == "Run" then
        yui.submit(vim.tbl_extend("force", spec, { command = argv }), submitted)
      end
    end)
  end)
end

---@param title string
---@param agent table
local function ask_work(title, agent)
  local yui = require("yui")
  if agent.takes == "refactor" then
    vim.notify("yui: use :YuiRefactor PATTERN REPLACEMENT [GLOB ...] for " .. agent.name)
    return
  end
  local command = agent.takes == "command"
  vim.ui.input({ prompt = command and "Command line: " or "Prompt: " }, function(text)
    if not text or text == "" then
      return
    end
    vim.ui.input({ prompt = "Claims (paths/globs): ", default = current_rel() }, function(claims)
      if claims == nil then
        return
      end
      local spec = { title = title, agent = agent.name, claims = split_list(claims) }
      if command then
        submit_command(spec, text)
      else
        yui.submit(vim.tbl_extend("force", spec, { prompt = text }), submitted)
      end
    end)
  end)
end

local function submit_interactive(agent_name)
  local yui = require("yui")
  if not yui.client() then
    -- Said before asking anything.
    yui.server_available()
    vim.notify("yui: the yui language server is not running for this buffer (see :checkhealth yui)",
      vim.log.levels.ERROR)
    return
  end
  vim.ui.input({ prompt = "Task title: " }, function(title)
    if not title or title == "" then
      return
    end
    list_agents(function(agents)
      local function chosen(agent)
        if not agent then
          return
        end
        if agent.available == false then
          vim.notify("yui: agent " .. agent.name .. " is not available: " .. tostring(agent.reason),
            vim.log.levels.WARN)
          return
        end
        ask_work(title, agent)
      end
      if agent_name ~= "" then
        local found = vim.iter(agents):find(function(a)
          return a.name == agent_name
        end)
        chosen(found or { name = agent_name, takes = "prompt", available = true })
      else
        vim.ui.select(agents, { prompt = "Agent", format_item = agent_label }, chosen)
      end
    end)
  end)
end

local function submit(cmd)
  local yui = require("yui")
  if vim.startswith(vim.trim(cmd.args), "{") then
    local ok, spec = pcall(vim.json.decode, cmd.args)
    if not ok or type(spec) ~= "table" then
      vim.notify("yui: :YuiSubmit {json} needs a JSON object: " .. tostring(spec), vim.log.levels.ERROR)
      return
    end
    yui.submit(spec, submitted)
  else
    submit_interactive(cmd.fargs[1] or "")
  end
end

--- ":YuiDevelop frontend=kiro backend=claude" -> {frontend = "kiro", backend = "claude"}
---@param words string[]
---@return table<string, string>
local function component_agents(words)
  local out = {}
  for _, word in ipairs(words) do
    local name, agent = word:match("^([%w_.-]+)=([%w_.-]+)$")
    if name then
      out[name] = agent
    end
  end
  return out
end

local function develop(cmd)
  local yui = require("yui")
  local function send(prompt, assignment)
    local args = vim.tbl_extend("force", { prompt = prompt }, assignment)
    yui.exec("yui.develop", args, function(result)
      local ids = result.taskIds or {}
      vim.notify(string.format("yui: started %d task(s): %s", #ids, table.concat(ids, ", ")))
    end)
  end
  local assignment = component_agents(cmd.fargs)
  if next(assignment) then
    vim.ui.input({ prompt = "What to develop: " }, function(prompt)
      if prompt and prompt ~= "" then
        send(prompt, assignment)
      end
    end)
    return
  end
  vim.ui.input({ prompt = "What to develop: " }, function(prompt)
    if not prompt or prompt == "" then
      return
    end
    local hint = "Agents (frontend= backend= database= tests= docs=): "
    vim.ui.input({ prompt = hint, default = "" }, function(text)
      if text then
        send(prompt, component_agents(split_list(text)))
      end
    end)
  end)
end

local function refactor(cmd)
  local yui = require("yui")
  local function send(pattern, replacement, globs)
    local files = #globs > 0 and globs or { "**/*" }
    yui.exec(
      "yui.refactor",
      { pattern = pattern, replacement = replacement, files = files, regex = cmd.bang },
      function(result)
        local ids = result.taskIds or {}
        vim.notify(string.format("yui: refactor started in %d task(s)", #ids))
      end
    )
  end
  local a = cmd.fargs
  if #a >= 2 then
    send(a[1], a[2], vim.list_slice(a, 3))
    return
  end
  vim.ui.input({ prompt = cmd.bang and "Regex: " or "Replace: ", default = a[1] }, function(p)
    if not p or p == "" then
      return
    end
    vim.ui.input({ prompt = "With: " }, function(r)
      if r == nil then
        return
      end
      vim.ui.input({ prompt = "In files (globs): ", default = "**/*" }, function(g)
        if g then
          send(p, r, split_list(g))
        end
      end)
    end)
  end)
end

local function show_locks()
  local yui = require("yui")
  local leases = require("yui.leases")
  yui.refresh_locks(function()
    local items = {}
    for _, entry in ipairs(leases.all()) do
      table.insert(items, {
        filename = vim.fs.joinpath(entry.root, entry.lock.path),
        lnum = 1,
        text = leases.describe(entry.lock),
      })
    end
    if #items == 0 then
      vim.notify("yui: no file is leased")
      return
    end
    vim.fn.setqflist({}, " ", { title = "yui leases", items = items })
    vim.cmd("botright copen")
  end)
end

local RETRYABLE = { failed = true, conflict = true, cancelled = true }
local OPEN = vim.tbl_extend("force", tasks.ACTIVE, tasks.WAITING)

function M.define()
  local yui = require("yui")
  local cmd = vim.api.nvim_create_user_command
  cmd("YuiSubmit", submit, {
    nargs = "*",
    desc = "yui: submit a task ({json} or [agent], asks for the rest)",
    complete = function()
      return yui.agents()
    end,
  })
  cmd("YuiDevelop", develop, { nargs = "*", desc = "yui: develop components in parallel" })
  cmd("YuiRefactor", refactor, {
    nargs = "*",
    bang = true,
    desc = "yui: replace PATTERN with REPLACEMENT in GLOBS, in parallel (! = regex)",
  })
  cmd("YuiTasks", function()
    require("yui.float").open()
  end, { desc = "yui: list tasks (c cancel, r retry, a apply, d discard)" })
  cmd("YuiCancel", function(c)
    with_task(c.args, OPEN, "cancel", yui.cancel)
  end, { nargs = "?", complete = complete_ids, desc = "yui: cancel a task" })
  cmd("YuiRetry", function(c)
    with_task(c.args, RETRYABLE, "retry", yui.retry)
  end, { nargs = "?", complete = complete_ids, desc = "yui: retry a task" })
  cmd("YuiApply", function(c)
    with_task(c.fargs[1] or "", tasks.REVIEW, "apply", function(id)
      yui.apply(id, vim.list_slice(c.fargs, 2))
    end)
  end, { nargs = "*", complete = complete_ids, desc = "yui: apply a waiting result [files]" })
  cmd("YuiDiscard", function(c)
    with_task(c.fargs[1] or "", { review = true, conflict = true }, "discard", function(id)
      yui.discard(id, vim.list_slice(c.fargs, 2))
    end)
  end, { nargs = "*", complete = complete_ids, desc = "yui: discard a waiting result [files] or a conflict" })
  local review = require("yui.review")
  cmd("YuiDiff", function(c)
    with_task(c.args, { review = true, conflict = true }, "compare", review.diff)
  end, { nargs = "?", complete = complete_ids, desc = "yui: diff tabs of a task's result" })
  local function show_log(c)
    with_task(c.args, vim.tbl_extend("force", OPEN, tasks.TERMINAL, tasks.REVIEW), "show", review.log)
  end
  cmd("YuiLog", show_log, { nargs = "?", complete = complete_ids, desc = "yui: a task's live output" })
  cmd("YuiLogs", show_log, { nargs = "?", complete = complete_ids, desc = "yui: a task's live output" })
  cmd("YuiResolve", function(c)
    with_task(c.fargs[1] or "", { conflict = true }, "resolve", function(id)
      review.resolve(id, c.fargs[2])
    end)
  end, { nargs = "*", complete = complete_ids, desc = "yui: resolve a conflict (editor|mine|theirs|rerun)" })
  cmd("YuiClear", function()
    yui.exec("yui.clearTasks", nil, function(result)
      tasks.clear_finished()
      vim.cmd("redrawstatus!")
      vim.notify(string.format("yui: cleared %d finished task(s)", #(result.cleared or {})))
    end)
  end, { desc = "yui: forget finished tasks" })
  cmd("YuiLocks", show_locks, { desc = "yui: list leased files in the quickfix list" })
end

return M
