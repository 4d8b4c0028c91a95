"""Every figure a notebook returns shows as an image, and the nbval run fails on one that does not.

* :class:`gantools.plot.NotebookFigure` (the explorers' static figures) renders as PNG through
  IPython's display machinery, without pyplot's inline backend.
* The root ``conftest.py`` fails a notebook cell whose output is a figure's ``<Figure size ...>``
  text with no image beside it (``figure_as_text``); its detector is tested here on small outputs.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def figure_as_text():
    spec = importlib.util.spec_from_file_location("_root_conftest", ROOT / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.figure_as_text


def _out(data: dict, kind: str = "execute_result") -> dict:
    return {"output_type": kind, "data": data, "metadata": {}}


def test_detector_flags_figure_text_without_image(figure_as_text):
    assert figure_as_text([_out({"text/plain": "<Figure size 810x333 with 2 Axes>"})]) == \
        "<Figure size 810x333 with 2 Axes>"
    assert figure_as_text([_out({"text/plain": ["<NotebookFigure size 900x370 ", "with 2 Axes>"]},
                                "display_data")])
    # the text among other outputs, after a stream
    assert figure_as_text([{"output_type": "stream", "name": "stdout", "text": "hi\n"},
                           _out({"text/plain": "<Figure size 640x480 with 0 Axes>"})])


def test_detector_passes_images_and_other_text(figure_as_text):
    assert figure_as_text([_out({"text/plain": "<Figure size 810x333 with 2 Axes>", "image/png": "iVBOR"})]) == ""
    assert figure_as_text([_out({"text/plain": "<Figure size 1x1>", "image/svg+xml": "<svg/>"})]) == ""
    assert figure_as_text([_out({"text/plain": "0.25"})]) == ""
    assert figure_as_text([{"output_type": "stream", "name": "stdout", "text": "<Figure size 1x1>"}]) == ""
    assert figure_as_text(None) == "" and figure_as_text([]) == ""


def test_notebook_figure_displays_as_png():
    from IPython.core.formatters import DisplayFormatter

    from gantools.plot import NotebookFigure

    fig = NotebookFigure(figsize=(2.0, 1.5))
    fig.add_subplot().plot([0, 1], [1, 0])
    data, _ = DisplayFormatter().format(fig)
    assert data["image/png"].startswith(PNG_MAGIC)
    assert NotebookFigure(figsize=(1, 1))._repr_png_() is None  # an empty figure has no image


def test_dirac_static_view_displays_as_png():
    """The Part I explorer's static view (what 06_explorer's cells return) is an image."""
    from IPython.core.formatters import DisplayFormatter

    from gantools.explorers import dirac

    fig = dirac.plot_run(dirac.figure(), dirac.run("wgan_gp", lam=0.1, lr=0.05, t_end=5.0), "t")
    data, _ = DisplayFormatter().format(fig)
    assert data["image/png"].startswith(PNG_MAGIC)
