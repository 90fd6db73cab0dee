"""inference.batch.progress: a tqdm bar on a terminal, plain lines in logs."""
import io

from inference.batch.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    progress = Progress(20, stream=stream)
    for i in range(20):
        progress.update(failed=i == 3)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert progress.bar is None and 2 <= len(lines) <= 20
    assert lines[-1].startswith("batch: 20/20 lines computed, 1 failed,")
    assert "\r" not in stream.getvalue()


def test_a_bar_on_a_terminal():
    stream = Terminal()
    progress = Progress(5, stream=stream)
    for _ in range(5):
        progress.update()
    progress.close()
    assert progress.bar is not None
    text = stream.getvalue()
    assert "5/5" in text and "\r" in text and "batch:" not in text
