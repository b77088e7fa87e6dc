-- Works without a setup() call: user configs (init.lua) run before plugin/ scripts, so a
-- user's require('yui').setup{...} has run by now; otherwise the defaults are registered.
if vim.g.loaded_yui == 1 or vim.fn.has("nvim-0.11") == 0 then
  return
end
vim.g.loaded_yui = 1
if not require("yui").configured then
  require("yui").setup()
end
