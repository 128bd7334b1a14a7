"""The app under hostile and clumsy input (issue 10): user text never becomes Markdown (no image,
link or code from a file name, key or value), the server's folders never show in a message, the
app's own renaming of repeated names cannot clash, and one upload or file that breaks in a way
flowsim did not expect is refused alone instead of taking the page down."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from flowsim import load_scenario
from flowsim.errors import FlowsimError, Problem, ScenarioError
from flowsim.pathway import to_dot

from .shared import REPO, SCENARIOS

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from flowsim.webapp.components import results_store, scenario_picker  # noqa: E402
from flowsim.webapp.components.safe_text import (  # noqa: E402
    error_md,
    plain,
    problems_md,
    shown_path,
)

IMAGE = "x`` ![](http://127.0.0.1:9/key.png) ``y"
LINK = "`` [link](http://127.0.0.1:9/value.html) ``"
HOSTILE = [
    IMAGE,
    LINK,
    "<img src='http://127.0.0.1:9/html.png'>",
    "http://127.0.0.1:9/bare",
    "[x]: http://127.0.0.1:9/ref\n[x]",
    "# heading\n- item\n\n    code",
    "**bold** _em_ $x^2$ &amp; \\` | a | b |",
    "`",
    "``",
    "` a `` b ``` c",
    "trailing `",
    "",
]
PAYLOAD = (
    f'extends: baseline.yaml\n"{IMAGE}": 1\nplaces:\n  wards: {{capacity: "{LINK}"}}\n'
).encode()


def unescaped(markdown: str) -> str:
    """Markdown as it reads: user text in it is in code spans (see ``safe_text.plain``)."""
    return re.sub(r"(?<!`)(`+) (.*?) \1(?!`)", r"\2", markdown)


_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def outside_code(markdown: str) -> str:
    """What Markdown reads as markup: everything but its code spans (a run of backticks up to
    the next run of the same length, as CommonMark reads them)."""
    return _CODE_SPAN.sub("", markdown)


def assert_inert(markdown: str) -> None:
    """No image or link can be made from ``markdown``: outside code, none is written; and,
    where markdown-it is installed, rendering it makes none."""
    rest = outside_code(markdown)
    assert "![" not in rest and "](" not in rest and "http" not in rest and "<" not in rest, rest
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        return
    html = MarkdownIt("commonmark").render(markdown)
    assert not re.search(r"<(img|a)\b", html), html


def _page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run()
    assert not at.exception
    return at


def _markdown(at: AppTest) -> list[str]:
    """Every piece of Markdown the page shows: messages, captions, headings and text."""
    kinds = ("error", "warning", "info", "success", "caption", "markdown", "subheader", "title")
    return [e.value for kind in kinds for e in at.get(kind)]


def _messages(at: AppTest) -> list[str]:
    return [unescaped(m) for m in _markdown(at)]


def _upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    return at.file_uploader(key="uploads").set_value(
        [(name, raw, "application/x-yaml") for name, raw in files]
    )


# -- user text as plain text ------------------------------------------------------------------
@pytest.mark.parametrize("text", HOSTILE)
def test_plain_text_renders_as_written_with_no_markup(text: str) -> None:
    md = plain(text)
    assert_inert(md)
    assert outside_code(md) == ""  # one code span, whole
    assert unescaped(md) == re.sub(r"\n+", " ", text)
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        return
    html = MarkdownIt("commonmark").render(md)
    assert re.fullmatch(r"<p><code>[^<]*</code></p>\n", html), html


def test_problems_and_errors_are_escaped() -> None:
    e = ScenarioError([Problem(f"{IMAGE}.yaml", 2, 1, IMAGE, f"got '{LINK}'")])
    for md in (problems_md(e, SCENARIOS), error_md(e, SCENARIOS)):
        assert_inert(md)
        assert IMAGE in unescaped(md) and LINK in unescaped(md)


def test_an_upload_carrying_markdown_shows_it_as_text() -> None:
    at = _upload(_page(), (f"{IMAGE}.yaml", PAYLOAD)).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors, "the upload should be refused"
    for md in _markdown(at):
        assert_inert(md)
    text = "\n".join(unescaped(e) for e in errors)
    assert f"{IMAGE}.yaml:2:1: {IMAGE}: unknown field" in text  # the file name and the key
    assert LINK in text  # the value


def test_pathway_labels_cannot_leave_their_dot_string() -> None:
    s = load_scenario(SCENARIOS / "baseline.yaml")
    evil = 'Wards"]; x [URL="http://127.0.0.1:9/" label="\\N\r\nnext'
    place = s.places["wards"].model_copy(update={"label": evil})
    dot = to_dot(s.model_copy(update={"places": {**s.places, "wards": place}}))
    assert 'URL="http' not in dot and "\r" not in dot
    assert 'Wards\\"]; x [URL=\\"http://127.0.0.1:9/\\" label=\\"\\\\N\\n' in dot


# -- no server paths --------------------------------------------------------------------------
def test_paths_are_shown_relative_to_the_scenarios_folder(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    assert shown_path(str(folder / "changes" / ".." / "baseline.yaml"), folder) == "baseline.yaml"
    assert shown_path(str(folder / "changes" / "x.yaml"), folder) == "changes/x.yaml"
    assert shown_path(str(tmp_path / "elsewhere" / "y.yaml"), folder) == "y.yaml"
    assert shown_path("upload.yaml", folder) == "upload.yaml"
    message = error_md(f"no such file: {folder}/changes/z.yaml", folder)
    assert str(tmp_path) not in message and "changes/z.yaml" in unescaped(message)


@pytest.fixture
def own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped scenarios at an absolute path, served by the page."""
    folder = tmp_path / "deep" / "server" / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    monkeypatch.setenv("FLOWSIM_SCENARIOS", str(folder))
    return folder


def test_the_page_never_shows_the_servers_folders(own_folder: Path) -> None:
    (own_folder / "changes" / "typo.yaml").write_text(
        "extends: ../baseline.yaml\nplaces:\n  wards: {capacty: 3}\n"
    )
    (own_folder / "broken_base.yaml").write_text("name: broken_base\nbogus: 1\n")
    at = _page()
    at.multiselect(key="changes").set_value(["changes/typo.yaml"])
    _upload(
        at,
        ("over_broken.yaml", b"extends: broken_base.yaml\nname: over\n"),
        ("missing.yaml", b"extends: changes/nowhere.yaml\n"),
    ).run()
    assert not at.exception
    shown = "\n".join(_messages(at))
    assert "changes/typo.yaml:3:11: places.wards.capacty: unknown field" in shown
    assert "broken_base.yaml:2:1: bogus: unknown field" in shown  # the shipped file under an upload
    assert "missing.yaml:1:1: extends:" in shown
    assert str(own_folder.parent) not in shown and "/deep/server" not in shown, shown


@pytest.mark.slow
def test_a_failure_message_quoting_a_server_path_shows_it_relative(
    own_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    import pandas as pd

    real_run = results_store.run

    def run_with_a_failure(*args, **kwargs):
        results = real_run(*args, **kwargs)
        failed = pd.DataFrame(
            [("baseline", 1, 7, f"OSError: cannot open {own_folder}/data/x.csv ![](http://h/i)")],
            columns=["scenario", "replication", "seed", "error"],
        )
        return dataclasses.replace(results, failures=failed)

    results_store.clear()
    monkeypatch.setattr(results_store, "run", run_with_a_failure)
    try:
        at = _page()
        _tiny(at)
        at.button(key="run").click().run()
    finally:
        results_store.clear()
    assert not at.exception
    warning = "\n".join(w.value for w in at.warning)
    assert_inert(warning)
    assert "cannot open data/x.csv" in unescaped(warning)
    assert str(own_folder) not in unescaped(warning)


def _tiny(at: AppTest) -> None:
    at.slider(key="days").set_value(7)
    at.slider(key="warmup").set_value(7)
    at.slider(key="reps").set_value(2)


# -- names ------------------------------------------------------------------------------------
def test_renaming_never_makes_a_clash() -> None:
    base = load_scenario(SCENARIOS / "baseline.yaml")
    names = ["baseline", "baseline", "baseline_2", "baseline", "baseline_3", "b" * 40, "b" * 40]
    renamed = [
        s.name
        for s in scenario_picker.unique_names([base.model_copy(update={"name": n}) for n in names])
    ]
    assert len(set(renamed)) == len(renamed), renamed
    assert renamed[:3] == ["baseline", "baseline_4", "baseline_2"]
    assert renamed[5] == "b" * 40 and len(renamed[6]) == 40  # never longer than a valid name


@pytest.mark.slow
def test_uploads_named_baseline_and_baseline_2_run_beside_the_baseline() -> None:
    results_store.clear()
    at = _page()
    at.multiselect(key="changes").set_value([])
    _upload(
        at,
        ("baseline.yaml", b"extends: baseline.yaml\nplaces:\n  wards: {capacity: 700}\n"),
        ("baseline_2.yaml", b"extends: baseline.yaml\nplaces:\n  wards: {capacity: 710}\n"),
    )
    _tiny(at)
    at.button(key="run").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert set(at.dataframe[0].value["Variant"]) == {"baseline_3", "baseline_2"}
    assert at.selectbox(key="pathway_scenario").options == ["baseline", "baseline_3", "baseline_2"]


def test_names_like_the_pages_own_keys_do_not_upset_it() -> None:
    at = _page()
    files = [(f"{k}.yaml", b"extends: baseline.yaml\n") for k in ("run", "uploads", "baseline")]
    _upload(at, *files).run()
    at.text_input(key="lever.baseline.yaml.name").set_value("uploads").run()
    at.button(key="lever.baseline.yaml.add").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="pathway_scenario").options == [
        "baseline",
        "escalation_beds",
        "run",
        "uploads",
        "baseline_2",
        "uploads_2",
    ]


# -- one broken file, not a broken page -------------------------------------------------------
def test_an_unexpected_failure_refuses_only_that_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    real = scenario_picker.load_upload

    def flaky(raw: bytes, filename: str, folder: Path):
        if filename == "deep.yaml":
            raise RecursionError("maximum recursion depth exceeded")
        if filename == "odd.yaml":
            raise OSError(36, "File name too long", str(folder / ("x" * 300)))
        if filename == "big.yaml":
            raise FlowsimError(f"{folder}/big.yaml would need more than the app allows")
        return real(raw, filename, folder)

    monkeypatch.setattr(scenario_picker, "load_upload", flaky)
    at = _page()
    ok = b"extends: baseline.yaml\nplaces:\n  wards: {capacity: 700}\n"
    _upload(at, ("deep.yaml", ok), ("odd.yaml", ok), ("big.yaml", ok), ("fine.yaml", ok)).run()
    assert not at.exception
    errors = [unescaped(e.value) for e in at.error]
    assert not any("Something went wrong" in e for e in errors), errors
    assert any(e.startswith("deep.yaml is not a valid scenario") for e in errors), errors
    assert any(e.startswith("odd.yaml is not a valid scenario") for e in errors), errors
    assert "big.yaml is refused: big.yaml would need more than the app allows" in errors
    assert len(errors) == 3
    assert "fine" in at.selectbox(key="pathway_scenario").options


def test_an_unexpected_failure_in_a_shipped_file_leaves_it_out(
    own_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (own_folder / "changes" / "deep.yaml").write_text("extends: ../baseline.yaml\n")
    real = scenario_picker.load_scenario

    def flaky(source, name=None, root=None):
        if str(source).endswith("deep.yaml"):
            raise RecursionError("maximum recursion depth exceeded")
        return real(source, name, root=root)

    monkeypatch.setattr(scenario_picker, "load_scenario", flaky)
    at = _page()
    at.multiselect(key="changes").set_value(
        ["changes/deep.yaml", "changes/escalation_beds.yaml"]
    ).run()
    assert not at.exception
    errors = [unescaped(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("changes/deep.yaml is not a valid"), errors
    assert "- changes/deep.yaml: flowsim could not read this file" in errors[0]
    assert at.selectbox(key="pathway_scenario").options == ["baseline", "escalation_beds"]


def test_an_unreadable_baseline_is_a_message_naming_it(
    own_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_read = Path.read_text

    def read_text(self: Path, *args, **kwargs) -> str:
        if self.name == "baseline.yaml" and self.parent == own_folder:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    at = _page()
    errors = [unescaped(e.value) for e in at.error]
    assert errors == [
        "The scenario is not valid:\n\n- baseline.yaml: cannot read the file: Permission denied"
    ]


def test_labels_from_a_scenario_file_are_plain_text_in_widget_labels(own_folder: Path) -> None:
    path = own_folder / "baseline.yaml"
    text = path.read_text()
    assert 'label: "Adult inpatient ward beds"' in text  # the label this test replaces
    path.write_text(text.replace('label: "Adult inpatient ward beds"', f"label: '{IMAGE}'"))
    at = _page()
    label = at.number_input(key="lever.baseline.yaml.beds.wards").label
    assert label == plain(IMAGE)
    assert_inert(label)


def test_no_scenarios_names_no_server_folder(tmp_path: Path, monkeypatch) -> None:
    empty = tmp_path / "server" / "nothing"
    empty.mkdir(parents=True)
    monkeypatch.setenv("FLOWSIM_SCENARIOS", str(empty))
    at = _page()
    shown = "\n".join(_messages(at))
    assert "No scenario files found" in shown and str(tmp_path) not in shown


def test_the_server_shows_no_tracebacks_and_takes_small_uploads() -> None:
    import tomllib

    from flowsim.appcli import streamlit_command

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config["server"]["maxUploadSize"] == 1
    cmd = streamlit_command("127.0.0.1", 8501)
    flags = dict(zip(cmd[5::2], cmd[6::2], strict=False))
    assert flags["--client.showErrorDetails"] == "none"
    assert flags["--server.maxUploadSize"] == "1"


def test_a_deeply_nested_upload_is_refused_alone() -> None:
    # YAML nested past Python's recursion limit: refused with a message naming the file, the
    # page and the other uploads carry on (whether the loader bounds the depth or not).
    deep = b"extends: baseline.yaml\nx-deep: " + b"[" * 3000 + b"]" * 3000 + b"\n"
    ok = b"extends: baseline.yaml\nplaces:\n  wards: {capacity: 700}\n"
    at = _upload(_page(), ("deep.yaml", deep), ("fine.yaml", ok)).run()
    assert not at.exception
    errors = [unescaped(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("deep.yaml is not a valid scenario"), errors
    assert "fine" in at.selectbox(key="pathway_scenario").options


# -- the app's run budget ---------------------------------------------------------------------
def test_a_run_past_the_apps_budget_is_refused_before_it_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The reproduction asked for a million walk-ins a day (now refused by the schema); the most
    # the schema allows, for two weeks and two replications, is still past the app's budget.
    simulated: list[object] = []
    monkeypatch.setattr(results_store, "run", lambda *a, **k: simulated.append(a))
    results_store.clear()
    at = _page()
    at.multiselect(key="changes").set_value([])
    flood = b"extends: baseline.yaml\narrivals:\n  walk_in: {per_day: 100000}\n"
    _upload(at, ("flood.yaml", flood))
    _tiny(at)
    at.button(key="run").click().run()
    assert not at.exception
    shown = unescaped("\n".join(e.value for e in at.error))
    assert "past the budget of 2,000,000 patients" in shown, shown
    assert "run it from the command line" in shown
    assert not simulated


def test_the_apps_workers_run_with_a_memory_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: dict[str, object] = {}

    def fake_run(scenarios: object, **kwargs: object) -> None:
        asked.update(kwargs)

    monkeypatch.setattr(results_store, "run", fake_run)
    base = load_scenario(SCENARIOS / "baseline.yaml")
    results_store.run_in_app([base], replications=2, seed=1, progress=None)
    limit = results_store.worker_memory_limit_mb()
    if limit is None:
        pytest.skip("this system does not say a process's size")
    assert asked["memory_limit_mb"] == limit
    assert limit >= results_store.WORKER_ALLOWANCE_MB
