"""Spec task lists the end-to-end tests run with the Kiro double, and the agent wrapper.

Each task's details hold the double's instruction lines (``write PATH: TEXT``, see
tests/fixtures/fake_edits.py). ``BARRIER:NAME`` makes the wrapper wait until
``BARRIER_PARTIES`` agents of that name run at once (if yui ran them one at a time, the
first would wait alone and fail); ``FAIL-THIS-TASK`` makes it fail while the file named by
``SPEC_FAIL_FLAG`` exists.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support import init_repo

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
KIRO = FIXTURES / "kiro-cli"

# The machines running this suite are shared and often busy: the CPU/memory gates would hold
# tasks back for reasons that are not under test here.
ROOMY = ('[project]\nname = "demo"\nversion = "0"\n\n'
         "[tool.yui]\nmax_cpu_percent = 100\nmin_free_memory_mb = 0\n")

#: 12 tasks with work (1.1-1.4, 2.1-2.4, 3, 4.1, 4.2, 5), an optional one, a done one.
KIRO_TASKS = """\
# Implementation Plan

- [ ] 1. Create the models
  - [ ] 1.1 Create the user model in `app/user.py`
    write app/user.py: USER = 'user'
    BARRIER:models
  - [ ] 1.2 Create the order model in `app/order.py`
    write app/order.py: ORDER = 'order'
    BARRIER:models
  - [ ] 1.3 Create the item model in `app/item.py`
    write app/item.py: ITEM = 'item'
    BARRIER:models
  - [ ] 1.4 Create the cart model in `app/cart.py`
    write app/cart.py: CART = 'cart'
    BARRIER:models

- [ ] 2. Build the services
  - [ ] 2.1 Implement the user service in `app/user_service.py`
    write app/user_service.py: from app.user import USER
    _Depends: 1.1_
  - [ ] 2.2 Implement the order service in `app/order_service.py`
    write app/order_service.py: from app.order import ORDER
    FAIL-THIS-TASK
    _Depends: 1.2_
  - [ ] 2.3 Write unit tests for the user service in `tests/test_user_service.py`
    write tests/test_user_service.py: import app.user_service
  - [ ] 2.4 Implement the cart service in `app/cart_service.py`
    write app/cart_service.py: from app.cart import CART
    _Depends: 1.4_

<!-- a note the user keeps -->
- [ ] 3. Checkpoint - Ensure all tests pass, ask the user if questions arise.

- [ ] 4. Expose the API
  - [ ] 4.1 Add the routes in `app/api.py`
    write app/api.py: ROUTES = ['/users', '/orders']
  - [ ] 4.2 Document the API in `docs/api.md`
    write docs/api.md: # API
  - [ ]* 4.3 Write property tests for the routes in `tests/test_api_props.py`
    write tests/test_api_props.py: PROPS = 1

- [ ] 5. Write the README in `README.md`
  write README.md: # Shop

- [x] 6. Set up CI in `.github/workflows/ci.yml`
"""

#: A spec-kit feature: a setup task, four [P] tasks at once, a sequential one, a polish phase.
SPEC_KIT_TASKS = """\
# Tasks: Photo albums

## Phase 1: Setup

- [X] T001 Create the project structure
- [ ] T002 Initialize the package in backend/__init__.py
  write backend/__init__.py: VERSION = 1

## Phase 2: User Story 1 - Albums (Priority: P1)

- [ ] T003 [P] [US1] Create the Album model in backend/album.py
  write backend/album.py: ALBUM = 1
  BARRIER:story
- [ ] T004 [P] [US1] Create the Photo model in backend/photo.py
  write backend/photo.py: PHOTO = 1
  BARRIER:story
- [ ] T005 [P] [US1] Contract test for albums in tests/test_albums.py
  write tests/test_albums.py: TEST = 1
  BARRIER:story
- [ ] T006 [P] [US1] Create the Tag model in backend/tag.py
  write backend/tag.py: TAG = 1
  BARRIER:story
- [ ] T007 [US1] Implement AlbumService in backend/album_service.py
  write backend/album_service.py: SERVICE = 1

**Checkpoint**: User Story 1 works on its own

## Phase 3: Polish

- [ ] T008 [P] Document the API in docs/albums.md
  write docs/albums.md: # Albums
"""

WRAPPER = """
import os, re, sys, time
from pathlib import Path
prompt = sys.argv[-1] if sys.argv[1:2] == ["chat"] else ""
if "FAIL-THIS-TASK" in prompt and Path(os.environ["SPEC_FAIL_FLAG"]).exists():
    sys.exit("failing as the test asked")
found = re.search(r"BARRIER:(\\w+)", prompt)
if found:
    folder = Path(os.environ["BARRIER_DIR"]) / found[1]
    folder.mkdir(parents=True, exist_ok=True)
    parties = int(os.environ["BARRIER_PARTIES"])
    (folder / os.urandom(8).hex()).touch()  # pids repeat across PID namespaces
    deadline = time.monotonic() + 60
    while len(list(folder.iterdir())) < parties:
        if time.monotonic() > deadline:
            sys.exit("barrier: the other agents of this wave never ran with this one")
        time.sleep(0.02)
os.execv(sys.executable, [sys.executable, KIRO, *sys.argv[1:]])
"""


def spec_repo(root: Path) -> Path:
    """A repository with the Kiro spec ``shop`` and the spec-kit feature ``001-albums``."""
    return init_repo(root, {
        "pyproject.toml": ROOMY,
        ".kiro/specs/shop/tasks.md": KIRO_TASKS,
        ".kiro/specs/shop/requirements.md": "# Requirements\n",
        ".kiro/steering/tech.md": "# Tech\nPython 3.11\n",
        "specs/001-albums/tasks.md": SPEC_KIT_TASKS,
        "specs/001-albums/spec.md": "# Feature Specification: Albums\n",
        "README.md": "# old\n",
    })


def agent_env(tmp_path: Path, parties: int, fail: bool) -> dict[str, str]:
    """Environment running the Kiro double behind the barrier wrapper."""
    wrapper = tmp_path / "kiro_wrapper.py"
    wrapper.write_text(f"KIRO = {str(KIRO)!r}\n{WRAPPER}")
    barrier = tmp_path / "barrier"
    barrier.mkdir(exist_ok=True)
    flag = tmp_path / "fail-flag"
    if fail:
        flag.touch()
    return {
        "YUI_KIRO_CLI": f"{sys.executable} {wrapper}",
        "KIRO_API_KEY": "test-key",
        "BARRIER_DIR": str(barrier),
        "BARRIER_PARTIES": str(parties),
        "SPEC_FAIL_FLAG": str(flag),
    }


def boxes(text: str) -> dict[str, bool]:
    """Task key -> ticked, for every checkbox line of a tasks.md."""
    import re

    found = {}
    for line in text.splitlines():
        match = re.match(r"^\s*- \[([ xX])\]\*? (T\d+|\d+(?:\.\d+)*)", line)
        if match:
            found[match[2]] = match[1] in "xX"
    return found
