-- :checkhealth yui
local M = {}

function M.check()
  local health = vim.health
  health.start("yui")
  if vim.fn.has("nvim-0.11") == 1 then
    health.ok("Neovim " .. tostring(vim.version()))
  else
    health.error("Neovim 0.11 or newer is needed (vim.lsp.config / vim.lsp.enable)")
  end

  local ok, yui = pcall(require, "yui")
  if not ok then
    health.error("cannot load the yui module: " .. tostring(yui))
    return
  end
  local config = vim.lsp.config["yui"]
  if not config then
    health.warn("require('yui').setup() has not been called", { "Add it to your init.lua" })
    return
  end
  local cmd = config.cmd
  if type(cmd) == "table" then
    local exe = cmd[1]
    if vim.fn.executable(exe) == 1 then
      health.ok("server command: " .. table.concat(cmd, " "))
      if cmd[2] == "-m" then
        local probe = vim.system({ exe, "-c", "import " .. cmd[3] }, { text = true }):wait(10000)
        if probe.code == 0 then
          health.ok(exe .. " can import " .. cmd[3])
        else
          health.error(exe .. " cannot import " .. cmd[3], {
            "Install the server into that interpreter: " .. exe .. " -m pip install yui-lsp",
            "or set cmd in require('yui').setup({ cmd = { '/path/to/yui-lsp' } })",
          })
        end
      end
    else
      health.error("server command not found: " .. exe, {
        "Install the server: pip install yui-lsp (puts yui-lsp on PATH)",
        "or set cmd in require('yui').setup({ cmd = { 'python3', '-m', 'yui_lsp' } })",
      })
    end
  end

  if vim.fn.executable("git") == 1 then
    health.ok("git found (each sandbox is a checkout with a git directory of its own)")
  else
    health.warn("git not found: sandboxes fall back to plain copies of the workspace")
  end

  if vim.fn.executable("bwrap") == 1 then
    health.ok("bubblewrap (bwrap) found: agents run confined (workspace read-only)")
  else
    health.warn("bubblewrap (bwrap) not found: agents run unconfined", {
      "Install it (e.g. apt install bubblewrap) so agents cannot write outside their sandbox",
    })
  end

  local clients = vim.lsp.get_clients({ name = "yui" })
  if #clients == 0 then
    health.info("no yui client is running yet (open a file inside a git repository)")
  end
  for _, client in ipairs(clients) do
    health.ok(string.format("client %d running for %s", client.id, client.root_dir or "?"))
    M.report_doctor(client)
  end
end

--- What the server's `yui.doctor` says about each workspace folder: its file system, how an
--- apply flushes there, who shares its locks, where the control sockets live, confinement.
function M.report_doctor(client)
  local health = vim.health
  local answer = client:request_sync("workspace/executeCommand",
    { command = "yui.doctor", arguments = { vim.empty_dict() } }, 10000)
  if not answer or answer.err or not answer.result then
    local why = answer and answer.err and answer.err.message or "no answer"
    health.warn("yui.doctor failed: " .. tostring(why))
    return
  end
  for _, report in ipairs(answer.result.reports or {}) do
    health.info("workspace " .. report.workspace .. " on " .. report.file_system
      .. " (mounted at " .. report.mount_point .. ")")
    health.info("durability: " .. report.flush)
    health.info("file locks: " .. report.locks)
    health.info("control socket: " .. report.control_socket)
    if report.confined then
      health.ok("confinement: " .. report.confinement)
    else
      health.warn("confinement: " .. report.confinement)
    end
  end
end

return M
