"""Command line of the language server: ``yui-lsp`` / ``python -m yui_lsp`` / ``yui lsp``."""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from yui_lsp import __version__
from yui_lsp.errors import YuiError
from yui_lsp.runtime import limit_malloc_arenas

#: Environment variable naming a file for --profile (for editors that cannot pass flags).
PROFILE_ENV = "YUI_LSP_PROFILE"


#: The GIL switch interval of the language server (see :func:`main`).
SWITCH_INTERVAL_S = 0.001

def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535)")
    return port


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="yui-lsp",
        description="The yui language server: runs coding agents in parallel from the editor.",
    )
    parser.add_argument("--stdio", action="store_true", help="talk LSP on stdin/stdout (default)")
    parser.add_argument("--tcp", type=_port, metavar="PORT",
                        help="listen on 127.0.0.1:PORT instead; clients must send the token "
                             "as initializationOptions.yuiToken (see --token-file)")
    parser.add_argument("--token-file", type=Path, metavar="PATH",
                        help="with --tcp: the token, from this owner-only (0600) file, made up "
                             "and written there when it does not exist (default: made up, "
                             "printed once and kept in the user's runtime folder)")
    parser.add_argument("--socket", type=Path, metavar="PATH",
                        help="listen on an owner-only Unix socket at PATH instead (preferred "
                             "over --tcp: no other local user can connect)")
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--log-file", metavar="PATH", help="write the server's log to PATH")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log detail")
    parser.add_argument("--profile", metavar="PATH", default=os.environ.get(PROFILE_ENV),
                        help=f"write cProfile statistics of the server's event loop to PATH "
                             f"when it exits (or set {PROFILE_ENV}=PATH)")
    parser.add_argument("--version", action="version", version=f"yui-lsp {__version__}")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the server; returns when the client disconnects."""
    limit_malloc_arenas()
    # Worker threads merge, apply and prepare sandboxes in Python while the event loop
    # answers the editor: every time the loop wakes it needs the GIL back, and waits up to
    # one switch interval for it (5 ms by default, more with several busy workers).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    args = parse_args(argv)
    # Never log to stdout: on stdio it carries the protocol.
    try:
        handler: logging.Handler = (
            logging.FileHandler(args.log_file, encoding="utf-8") if args.log_file
            else logging.StreamHandler(sys.stderr)
        )
    except OSError as exc:
        print(f"yui-lsp: cannot write the log to {args.log_file}: {exc.strerror or exc} "
              "(give --log-file a file in an existing folder)", file=sys.stderr)
        return 2
    logging.basicConfig(level=getattr(logging, args.log_level), handlers=[handler],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.log_level != "DEBUG":
        # pygls logs every message it sends at INFO: far too much for a log file.
        logging.getLogger("pygls").setLevel(logging.WARNING)
    from yui_lsp.server.server import create_server
    from yui_lsp.server.transport import serve_tcp, serve_unix

    server = create_server()
    # The event loop runs on this thread: profiling it shows what delays every answer.
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    try:
        if args.socket is not None:
            serve_unix(server, args.socket)
        elif args.tcp is not None:
            serve_tcp(server, args.host, args.tcp, args.token_file)
        else:
            from yui_lsp.server.stdio import serve_stdio
            from yui_lsp.server.stdout import BackgroundStdout

            stdout = BackgroundStdout(sys.stdout.buffer)
            try:
                serve_stdio(server, sys.stdin.buffer, stdout)  # type: ignore[arg-type]
            finally:
                stdout.close()
    except YuiError as exc:
        print(f"yui-lsp: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
