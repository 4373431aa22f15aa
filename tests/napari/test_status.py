"""The status line: short errors with details on demand, cleared by the next message."""

from hypothesis import given
from hypothesis import strategies as st

from fastsam_plugin.napari.jobs import plural
from fastsam_plugin.napari.status import StatusBar, _first_sentence


def test_long_error_shows_one_line_and_details_on_demand(dock):
    status: StatusBar = dock.status
    long = ("FastSAM: FastSAM-s.pt is not on this machine and could not be downloaded. "
            "Download it on a connected machine and copy it to ~/.cache/napari-fastsam/FastSAM-s.pt.\n"
            "See 'yolo predict model=yolo26n.pt' for more.")
    status.error(long)
    # the first line says what went wrong and what to do; the rest waits behind Details
    assert status.line.value == long.splitlines()[0]
    assert status.value == long and status.is_error
    assert not status.details.native.isHidden() and status.full.native.isHidden()
    status.details.clicked.emit()
    assert not status.full.native.isHidden() and status.full.value == long
    status.show("3 objects found")
    assert not status.is_error and status.value == "3 objects found"
    assert status.details.native.isHidden() and status.full.native.isHidden()


def test_a_long_first_line_is_cut_after_a_whole_sentence(dock):
    sentence = "The text model ViT-B-32 (openai) is not on this machine and cannot be downloaded offline. "
    dock.status.error(sentence * 4)
    assert dock.status.line.value == (sentence * 2).strip()
    assert not dock.status.details.native.isHidden()


def test_short_error_has_no_details_button(dock):
    dock.status.error("Open or add an image layer first.")
    assert dock.status.line.value == "Open or add an image layer first."
    assert dock.status.details.native.isHidden()

_words = st.lists(st.sampled_from(["the", "model", "file", "is", "missing.", "copy", "it", "here.", "x" * 30, "a/b/c"]),
                  max_size=60).map(" ".join)


@given(text=st.lists(_words, min_size=1, max_size=3).map("\n".join), limit=st.integers(20, 300))
def test_the_status_line_is_a_prefix_of_the_first_line_within_the_limit(text, limit):
    first = text.strip().splitlines()[0] if text.strip() else ""
    short = _first_sentence(text, limit)
    assert len(short) <= limit
    if len(first) <= limit:
        assert short == first  # a first line that fits is shown whole
    elif short.endswith("…"):
        assert first.startswith(short[:-1])
    else:
        assert first.startswith(short) and short.endswith(".")  # cut after a whole sentence


@given(st.integers(0, 10_000))
def test_plural(n):
    assert plural(n, "object") == (f"{n} object" if n == 1 else f"{n} objects")
