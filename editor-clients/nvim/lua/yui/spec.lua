-- Spec task lists (Kiro .kiro/specs/NAME/tasks.md, spec-kit specs/NAME/tasks.md):
-- :YuiSpec [NAME] runs a spec's unchecked tasks in parallel; in an open tasks.md the server's
-- code lenses ("▶▶ Run N tasks in parallel", "▶ Run task") show through vim.lsp.codelens and
-- run with vim.lsp.codelens.run(). Checkboxes tick in the buffer as results land.
local M = {}

--- Spec names seen by the last listing, for completion.
M.names = {}

--- True for a buffer holding a spec's tasks.md.
---@param bufnr integer
---@return boolean
function M.is_tasks_md(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  return name:match("/%.kiro/specs/[^/]+/tasks%.md$") ~= nil
    or name:match("/specs/[^/]+/tasks%.md$") ~= nil
end

--- Ask the server for the lenses of every tasks.md buffer again.
function M.refresh_lenses()
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and M.is_tasks_md(bufnr) then
      local yui = require("yui")
      if yui.client(bufnr) then
        vim.lsp.codelens.refresh({ bufnr = bufnr })
      end
    end
  end
end

--- The specs of the workspace: `on_result(specs)` gets yui.listSpecs' answer.
---@param on_result fun(specs: table[])
function M.list(on_result)
  require("yui").exec("yui.listSpecs", nil, function(result)
    local specs = result.specs or {}
    M.names = vim.tbl_map(function(s)
      return s.name
    end, specs)
    on_result(specs)
  end)
end

--- Run a spec: by name, or the spec of the current buffer when `name` is empty.
---@param name string?
---@param opts table? extra yui.runSpec fields (agent, only, includeOptional, maxWorkers)
function M.run(name, opts)
  local spec = name
  if (spec == nil or spec == "") and M.is_tasks_md(0) then
    spec = vim.uri_from_bufnr(0)
  end
  if spec == nil or spec == "" then
    M.list(function(specs)
      vim.ui.select(specs, {
        prompt = "yui: run which spec?",
        format_item = function(s)
          return string.format("%s (%s, %d/%d done)", s.name, s.format, s.done, s.total)
        end,
      }, function(choice)
        if choice then
          M.run(choice.name, opts)
        end
      end)
    end)
    return
  end
  local args = vim.tbl_extend("force", { spec = spec }, opts or {})
  require("yui").exec("yui.runSpec", args, function(result)
    local count = #(result.taskIds or {})
    local text = count == 0 and "yui: nothing left to run in this spec"
      or string.format("yui: running %d spec tasks in %d waves", count, result.waves or 0)
    vim.notify(text, vim.log.levels.INFO, { title = "yui" })
    M.refresh_lenses()
  end)
end

--- Define :YuiSpec and keep the lenses of tasks.md buffers fresh.
function M.setup()
  vim.api.nvim_create_user_command("YuiSpec", function(c)
    M.run(c.args)
  end, {
    nargs = "?",
    desc = "yui: run a spec's unchecked tasks in parallel (default: this tasks.md)",
    complete = function()
      return M.names
    end,
  })
  local group = vim.api.nvim_create_augroup("yui.spec", { clear = true })
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == "yui" and M.is_tasks_md(args.buf) then
        -- The listing answers once the folder's coordinator is up: lenses exist from then.
        M.list(function()
          vim.lsp.codelens.refresh({ bufnr = args.buf })
        end)
      end
    end,
  })
  vim.api.nvim_create_autocmd({ "BufEnter", "InsertLeave", "TextChanged" }, {
    group = group,
    callback = function(args)
      if M.is_tasks_md(args.buf) and require("yui").client(args.buf) then
        vim.lsp.codelens.refresh({ bufnr = args.buf })
      end
    end,
  })
  vim.api.nvim_create_autocmd("User", {
    group = group,
    pattern = "YuiTaskUpdate",
    callback = function()
      M.refresh_lenses()
    end,
  })
end

return M
