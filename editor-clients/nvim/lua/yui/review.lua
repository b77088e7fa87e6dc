-- Results after they land, and before: saving (saveAfterApply), review diffs, live logs,
-- conflict choices. The contract is docs/protocol.md ("How clients use them").
local record = require("yui.record")

local M = {}

--- Write buffer `buf` as it is, keeping its end of line exactly (no 'fixeol' newline).
---@param buf integer
local function write_exact(buf)
  local fixeol = vim.bo[buf].fixeol
  vim.bo[buf].fixeol = false
  local ok, err = pcall(vim.api.nvim_buf_call, buf, function()
    vim.cmd("silent keepalt noautocmd write!")
  end)
  vim.bo[buf].fixeol = fixeol
  if not ok then
    vim.notify("yui: cannot save " .. vim.api.nvim_buf_get_name(buf) .. ": " .. tostring(err),
      vim.log.levels.ERROR)
  end
end

--- Handler of `workspace/applyEdit` for the yui client. Neovim's own one silently skips a
--- versioned edit of a buffer that moved on and still answers "applied"; the server must
--- hear the truth to merge again. Pending changes are sent first, so that merge sees them.
function M.apply_edit(_, params, ctx)
  local client = assert(vim.lsp.get_client_by_id(ctx.client_id))
  for _, change in ipairs((params.edit or {}).documentChanges or {}) do
    local doc = change.textDocument
    local version = doc and doc.version
    if type(version) == "number" then -- 0 too: the version of didOpen, before any change
      local buf = vim.uri_to_bufnr(doc.uri)
      if vim.api.nvim_buf_is_loaded(buf) and vim.lsp.util.buf_versions[buf] ~= version then
        require("vim.lsp._changetracking").flush(client, buf)
        return { applied = false, failureReason = "document version changed (edited meanwhile)" }
      end
    end
  end
  local ok, err = pcall(vim.lsp.util.apply_workspace_edit, params.edit, client.offset_encoding)
  return { applied = ok, failureReason = not ok and tostring(err) or nil }
end

--- Handler of `yui/resultApplied`: final newlines as the result has them, then save what
--- `save` lists and unload buffers loaded only for the edit.
function M.on_result_applied(_, params, _)
  params = params or {}
  local no_eol = {}
  for _, uri in ipairs(record.get(params, "no_final_newline") or {}) do
    no_eol[uri] = true
  end
  for _, uri in ipairs(record.get(params, "uris") or {}) do
    local buf = vim.uri_to_bufnr(uri)
    if vim.api.nvim_buf_is_loaded(buf) then
      -- A text edit cannot change 'eol'; the server says how the new text ends.
      local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
      if no_eol[uri] then
        vim.bo[buf].eol = false
      elseif not vim.bo[buf].eol then
        if #lines > 1 and lines[#lines] == "" then
          vim.api.nvim_buf_set_lines(buf, -2, -1, false, {})
        end
        vim.bo[buf].eol = true
      end
    end
  end
  local opened = {}
  for _, uri in ipairs(record.get(params, "opened") or {}) do
    opened[uri] = true
  end
  for _, uri in ipairs(record.get(params, "save") or {}) do
    local buf = vim.uri_to_bufnr(uri)
    if vim.api.nvim_buf_is_loaded(buf) then
      write_exact(buf)
      if opened[uri] and #vim.fn.win_findbuf(buf) == 0 and not vim.bo[buf].modified then
        vim.api.nvim_buf_delete(buf, { unload = true })
      end
    end
  end
end

--- :YuiDiff ID: a tab per changed file, the workspace now (left) against the result (right).
---@param id string
function M.diff(id)
  require("yui").exec("yui.showDiff", { taskId = id }, function(result)
    local files = result.files or {}
    if #files == 0 then
      vim.notify("yui: no file to compare for " .. id .. (result.diff ~= "" and (":\n" .. result.diff) or ""))
      return
    end
    for _, file in ipairs(files) do
      vim.cmd("tabnew")
      local function side(text, name)
        local buf = vim.api.nvim_get_current_buf()
        vim.bo[buf].buftype = "nofile"
        vim.bo[buf].bufhidden = "wipe"
        local lines = text ~= nil and text ~= vim.NIL and vim.split(text, "\n", { plain = true }) or {}
        if #lines > 0 and lines[#lines] == "" then
          table.remove(lines)
        end
        vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
        vim.api.nvim_buf_set_name(buf, name)
        vim.bo[buf].modifiable = false
        vim.cmd("diffthis")
      end
      side(file.current, string.format("yui://%s/current/%s", id, file.path))
      local left = vim.api.nvim_get_current_buf()
      vim.cmd("vnew")
      side(file.result, string.format("yui://%s/result/%s", id, file.path))
      if result.source == "review" then
        -- Per file, from the diff: `a` applies it, `d` discards it (then the tab closes).
        for _, buf in ipairs({ left, vim.api.nvim_get_current_buf() }) do
          for key, action in pairs({ a = "apply", d = "discard" }) do
            vim.keymap.set("n", key, function()
              require("yui")[action](id, { file.path })
              vim.cmd("tabclose")
            end, { buffer = buf, nowait = true, desc = "yui: " .. action .. " " .. file.path })
          end
        end
      end
    end
  end)
end

--- :YuiLog ID: the task's output in a scratch buffer, followed live until the task ends.
---@param id string
function M.log(id)
  local buf = vim.api.nvim_create_buf(true, true)
  vim.api.nvim_buf_set_name(buf, "yui://log/" .. id)
  vim.bo[buf].filetype = "yuilog"
  M.logs[id] = buf
  vim.cmd("botright split")
  vim.api.nvim_win_set_buf(0, buf)
  require("yui").exec("yui.taskLog", { taskId = id, follow = true }, function(result)
    M.append_log(id, result.lines or {}, result.done)
  end)
end

---@type table<string, integer> log buffers by task id
M.logs = {}

---@param id string
---@param lines table[]
---@param done boolean?
function M.append_log(id, lines, done)
  local buf = M.logs[id]
  if not buf or not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  local text = {}
  for _, line in ipairs(lines) do
    local stream = record.get(line, "stream")
    local prefix = stream == "stderr" and "! " or (stream == "event" and "# " or "")
    table.insert(text, prefix .. tostring(record.get(line, "line") or ""))
  end
  if done then
    table.insert(text, "# (task ended)")
  end
  local count = vim.api.nvim_buf_line_count(buf)
  local first = vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1]
  local at = (count == 1 and first == "") and 0 or count
  vim.api.nvim_buf_set_lines(buf, at, -1, false, text)
end

--- Handler of `yui/taskLog`.
function M.on_task_log(_, params, _)
  M.append_log(record.get(params, "task_id"), record.get(params, "lines") or {}, record.get(params, "done"))
end

M.CHOICES = { "editor", "mine", "theirs", "rerun" }
local CHOICE_LABELS = {
  editor = "Resolve in editor (conflict markers, unsaved)",
  mine = "Keep mine",
  theirs = "Take the task's",
  rerun = "Re-run on my current text",
}

--- :YuiResolve ID [choice]
---@param id string
---@param choice string?
function M.resolve(id, choice)
  local function send(c)
    require("yui").exec("yui.resolveConflict", { taskId = id, choice = c })
  end
  if choice and choice ~= "" then
    send(choice)
    return
  end
  vim.ui.select(M.CHOICES, {
    prompt = "Conflict of " .. id,
    format_item = function(c)
      return CHOICE_LABELS[c]
    end,
  }, function(c)
    if c then
      send(c)
    end
  end)
end

return M
