"""``python -m yui_lsp``: the language server on stdio (see ``yui-lsp --help``)."""

import sys

from yui_lsp.server.main import main

sys.exit(main())
