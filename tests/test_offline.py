"""Importing cvkit and running a chapter's machinery opens no network connection.

A fresh interpreter in which every IPv4/IPv6 connection and DNS lookup raises imports every cvkit module (core and
chapters) and runs, in-process (execnb's shell, as nbdev's test runner does), a small chapter that uses what chapters
use: `start_chapter`, a claims ledger, the display helpers and widgets, the footprint, and the tour's loader for
every bundled photograph it can use. The real chapters run once, in test_notebooks, not again here. A real Jupyter
kernel talks to its client over loopback TCP, which is why this notebook is not run through a kernel."""
import subprocess
import sys

from conftest import ROOT

GUARD = r'''
import socket
def _refuse(*args, **kwargs):
    raise OSError("network access blocked by the offline test")
_connect = socket.socket.connect
def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError(f"network connection to {address} blocked by the offline test")
    return _connect(self, address)
socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect
socket.getaddrinfo = _refuse
socket.create_connection = _refuse

# the guard works: a real attempt fails
import urllib.request
try:
    urllib.request.urlopen("http://example.com", timeout=5)
    raise SystemExit("guard failed: a connection was opened")
except OSError:
    pass
'''

RUN_CHAPTER = r'''
import importlib, pathlib, sys
import cvkit
modules = sorted("cvkit." + ".".join(p.with_suffix("").relative_to(pathlib.Path(cvkit.__file__).parent).parts)
                 for p in pathlib.Path(cvkit.__file__).parent.rglob("*.py") if p.stem not in ("__init__", "_modidx"))
for name in modules:
    importlib.import_module(name)
import nbformat
from execnb.nbio import read_nb
from execnb.shell import CaptureShell
sys.path.insert(0, sys.argv[1])
from conftest import PASSING, make_chapter_notebook
body = [
    "from cvkit.core.settings import start_chapter\nctx = start_chapter('offline', SCALE, SEED, DEVICE)",
    *PASSING,
    "import numpy as np\nfrom cvkit.tour import PHOTOS, load_photo\nphotos = [load_photo(p, 32) for p in PHOTOS]",
    "from cvkit.core.display import explore, image_grid, plot_curves, plot_point_cloud\n"
    "_ = image_grid(photos[:3], titles=['a', 'b', 'c'])\n"
    "_ = plot_curves({'x': [1.0, 2.0, 3.0]}, xlabel='step')\n"
    "plot_point_cloud(np.random.default_rng(0).random((50, 3)), title='points').show()\n"
    "_ = explore(lambda v, ax: ax.imshow(photos[v], cmap='gray'), [0, 1, 2], label='photo')",
    "from cvkit.core.provenance import show_footprint\n_ = show_footprint()",
]
nb = read_nb(make_chapter_notebook(pathlib.Path("01_offline.ipynb"), body, title="Offline"))
CaptureShell().run_all(nb, exc_stop=True)
errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
assert not errors, errors
print("ran offline:", len(modules), "modules imported,", sum(c.cell_type == "code" for c in nb.cells), "code cells")
'''


def test_import_and_chapter_machinery_open_no_connection(tmp_path):
    res = subprocess.run([sys.executable, "-c", GUARD + RUN_CHAPTER, str(ROOT / "tests")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "ran offline:" in res.stdout
