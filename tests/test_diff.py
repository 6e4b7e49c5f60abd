"""bot.diff.parse against real git output: the jinja corpus (with its oracle), unidiff's samples, and
small fixtures made by real git (tests/fixtures/diffs/generate.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.diff.languages import language_for
from bot.diff.parse import parse_diff, parse_file_patch
from bot.errors import InputError
from bot.types import FileDiff
from tests.conftest import FIXTURES, JINJA_CASES, UNIDIFF_SAMPLES
from tests.oracle import check_case_against_oracle

DIFFS = FIXTURES / "diffs"
# unidiff's own samples of malformed diffs: every file in them is broken.
MALFORMED_SAMPLES = {"sample1.diff", "sample6.diff", "sample7.diff"}


def fixture(name: str) -> bytes:
    return (DIFFS / name).read_bytes()


def only(diff: bytes | str) -> FileDiff:
    parsed = parse_diff(diff)
    assert parsed.skipped == ()
    assert len(parsed.files) == 1
    return parsed.files[0]


# --- the corpus ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", JINJA_CASES, ids=lambda p: p.name)
def test_jinja_case_matches_oracle(case: Path) -> None:
    check_case_against_oracle(case)


def github_patches(diff_text: str) -> list[str | None]:
    """What GitHub's /pulls/N/files `patch` holds for each file: the hunks, no trailing newline."""
    patches: list[str | None] = []
    for section in re.split(r"(?m)^(?=diff --git )", diff_text)[1:]:
        at = re.search(r"(?m)^@@ ", section)
        patches.append(section[at.start():].removesuffix("\n") if at else None)
    return patches


@pytest.mark.parametrize("case", JINJA_CASES, ids=lambda p: p.name)
def test_file_patch_path_equals_full_diff_path(case: Path) -> None:
    text = (case / "pr.diff").read_text()
    files = parse_diff(text).files
    patches = github_patches(text)
    assert len(patches) == len(files)
    status_for_github = {"binary": "modified"}
    for f, patch in zip(files, patches, strict=True):
        for variant in (patch, None if patch is None else patch + "\n"):
            g = parse_file_patch(f.path, variant, status_for_github.get(f.status, f.status), f.old_path)
            assert g.hunks == f.hunks
            assert g.commentable("RIGHT") == f.commentable("RIGHT")
            assert g.commentable("LEFT") == f.commentable("LEFT")
            assert (g.path, g.old_path, g.language) == (f.path, f.old_path, f.language)
            assert g.status == (f.status if f.status != "binary" else "modified")


@pytest.mark.parametrize("sample", UNIDIFF_SAMPLES, ids=lambda p: p.name)
def test_unidiff_sample(sample: Path) -> None:
    if sample.name in MALFORMED_SAMPLES:
        with pytest.raises(InputError) as err:
            parse_diff(sample.read_bytes())
        message = str(err.value)
        assert message.startswith("diff line ") and "hunk @@ -5,16 +11,13 @@" in message
        assert "\n" not in message
        return
    parsed = parse_diff(sample.read_bytes())
    assert parsed.files
    if sample.name == "sample2.diff":  # its last hunk is cut off one line short
        assert [s.path for s in parsed.skipped] == ["js/src/jsfriendapi.cpp"]
        assert parsed.skipped[0].detail == ("diff line 30: hunk @@ -527,16 +527,24 @@ ends after 23 of 24 "
                                            "new lines (truncated?)")
    else:
        assert parsed.skipped == ()
    for f in parsed.files:
        for h in f.hunks:
            assert sum(1 for ln in h.lines if ln.kind != "+") == h.old_len
            assert sum(1 for ln in h.lines if ln.kind != "-") == h.new_len


def test_other_vcs_samples_get_status_from_their_hunks() -> None:
    for name in ("svn.diff", "bzr.diff", "hg.diff", "git.diff"):
        files = parse_diff((UNIDIFF_SAMPLES[0].parent / name).read_bytes()).files
        assert {f.path: f.status for f in files} == {
            "added_file": "added", "modified_file": "modified", "removed_file": "removed"}, name
        added = next(f for f in files if f.status == "added")
        assert added.old_path is None
        assert [ln.text for ln in added.hunks[0].lines] == [
            "This was missing!", "Adding it now.", "", "Only for testing purposes."]


def test_unidiff_quoted_and_prefix_samples() -> None:
    base = UNIDIFF_SAMPLES[0].parent
    assert only((base / "git_quoted_filename.diff").read_bytes()).path == "A \u00e2 B.py"
    assert only((base / "git_quoted_filename_with_spaces.diff").read_bytes()).path == \
        "docs/develop/Bug \u6392\u67e5.md"
    assert only((base / "git_filenames_with_spaces.diff").read_bytes()).path == "has spaces/t.sql"
    # --no-prefix: "a/" is not stripped from paths that have none
    assert [f.path for f in parse_diff((base / "git_no_prefix.diff").read_bytes()).files] == [
        "file1", "file2", "file3"]
    cr = only((base / "git_cr.diff").read_bytes())
    assert len(cr.hunks[0].lines) == 3 and "\r" in cr.hunks[0].lines[0].text


# --- fixtures made by real git ------------------------------------------------------------

def test_crlf_file_text_has_no_line_ending() -> None:
    f = only(fixture("crlf.diff"))
    assert {ln.new_no: ln.text for ln in f.hunks[0].lines if ln.new_no} == {
        2: "line 2", 3: "line 3", 4: "line 4", 5: "line five", 6: "line 6", 7: "line 7", 8: "line 8"}


def test_whole_diff_in_crlf_parses_like_lf() -> None:
    lf = fixture("multi.diff")
    assert parse_diff(lf.replace(b"\n", b"\r\n")) == parse_diff(lf)


def test_lone_cr_does_not_split_a_line() -> None:
    f = only(fixture("lone_cr.diff"))
    assert [(ln.kind, ln.old_no, ln.new_no, ln.text) for ln in f.hunks[0].lines] == [
        (" ", 1, 1, "a"), ("+", None, 2, "half\rway"), (" ", 2, 3, "b"), ("+", None, 4, "end")]
    assert f.commentable("RIGHT") == {1, 2, 3, 4}
    assert f.commentable("LEFT") == {1, 2}


def test_only_newline_ends_a_line() -> None:
    odd = "a\x0cb\u2028c\x85d\x1ce\x0bf"  # str.splitlines() would cut this in six
    f = only(f"--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n {odd}\n+x\ry\n")
    assert [(ln.new_no, ln.text) for ln in f.hunks[0].lines] == [(1, odd), (2, "x\ry")]


def test_quoted_path_with_octal_escapes() -> None:
    f = only(fixture("quoted_octal.diff"))
    assert (f.path, f.old_path, f.status) == ("caf\u00e9.txt", "caf\u00e9.txt", "modified")


def test_paths_with_spaces_and_pure_rename() -> None:
    files = parse_diff(fixture("spaces.diff")).files
    assert [(f.path, f.old_path, f.status, len(f.hunks)) for f in files] == [
        ("dir with space/my file.py", "dir with space/my file.py", "modified", 1),
        ("new name.txt", "old name.txt", "renamed", 0)]


@pytest.mark.parametrize("name", ["binary.diff", "binary_patch.diff"])
def test_binary(name: str) -> None:
    f = only(fixture(name))
    assert (f.path, f.status, f.is_binary, f.hunks) == ("img/logo.png", "binary", True, ())


def test_binary_added_and_removed_keep_their_status() -> None:
    files = parse_diff((UNIDIFF_SAMPLES[0].parent / "sample8.diff").read_bytes()).files
    assert [(f.path, f.status, f.is_binary) for f in files] == [
        ("boo.bin", "added", False), ("foo.bin", "added", True), ("bar.bin", "binary", True),
        ("baz.bin", "removed", True), ("fuz.bin", "added", False)]


def test_mode_only_and_mode_with_edit() -> None:
    f = only(fixture("mode_only.diff"))
    assert (f.path, f.status, f.hunks) == ("run.sh", "mode", ())
    g = only(fixture("mode_and_edit.diff"))
    assert (g.status, g.commentable("RIGHT")) == ("modified", {1, 2})


def test_submodule() -> None:
    f = only(fixture("submodule.diff"))
    assert (f.path, f.status, f.is_submodule) == ("vendor/lib", "modified", True)
    g = only(fixture("submodule_added.diff"))
    assert (g.path, g.status, g.is_submodule, g.old_path) == ("vendor/lib", "added", True, None)


def test_renames_and_copies() -> None:
    pure = only(fixture("rename_pure.diff"))
    assert (pure.path, pure.old_path, pure.status, pure.hunks) == ("lib/new.py", "src/old.py", "renamed", ())
    edit = only(fixture("rename_edit.diff"))
    assert (edit.path, edit.old_path, edit.status) == ("lib/new.py", "src/old.py", "renamed")
    assert [ln.new_no for ln in edit.hunks[0].added] == [9]
    copy = only(fixture("copy.diff"))
    assert (copy.path, copy.old_path, copy.status) == ("b.py", "a.py", "copied")


def test_new_and_deleted_files_without_final_newline() -> None:
    fresh, gone = parse_diff(fixture("new_and_deleted.diff")).files
    assert (fresh.path, fresh.old_path, fresh.status) == ("fresh.py", None, "added")
    assert [(ln.new_no, ln.text) for ln in fresh.hunks[0].lines] == [(1, "x = 1"), (2, "y = 2")]
    assert (gone.path, gone.old_path, gone.status) == ("gone.py", "gone.py", "removed")
    assert gone.commentable("RIGHT") == frozenset() and gone.commentable("LEFT") == {1, 2}


def test_no_newline_marker_is_not_a_line() -> None:
    f = only(fixture("no_newline.diff"))
    assert [(ln.kind, ln.old_no, ln.new_no, ln.text) for ln in f.hunks[0].lines] == [
        (" ", 1, 1, "a"), (" ", 2, 2, "b"), ("-", 3, None, "c"), ("+", None, 3, "C"), ("+", None, 4, "d")]


def test_non_utf8_bytes_are_replaced() -> None:
    f = only(fixture("non_utf8.diff"))
    assert [ln.text for ln in f.hunks[0].lines] == ["caf\ufffd", "na\ufffdve"]
    assert only(b"--- a/\xff\n+++ b/\xff\n@@ -1 +1 @@\n-\xfe\n+x\n").path == "\ufffd"


def test_empty_new_file() -> None:
    f = only(fixture("empty_file.diff"))
    assert (f.path, f.status, f.hunks) == ("empty.txt", "added", ())


def test_removed_sql_comment_is_not_a_file_header() -> None:
    f = only(fixture("sql_header_lookalike.diff"))
    assert [ln.text for ln in f.hunks[0].lines] == ["select 1;", "-- old comment", "++ new", "select 2;"]


def test_format_patch_and_log_output() -> None:
    f = only(fixture("format_patch.diff"))
    assert [ln.text for ln in f.hunks[0].added] == ["line ten"]
    a, b = parse_diff(fixture("log_p.diff")).files
    assert [ln.text for ln in a.hunks[0].added] == ["    indented"]
    assert [ln.text for ln in b.hunks[0].added] == ["-- dashes"]


def test_header_only_paths_with_spaces_and_quotes() -> None:
    mode = "old mode 100644\nnew mode 100755\n"
    assert only(f"diff --git a/my file.sh b/my file.sh\n{mode}").path == "my file.sh"
    assert only(f'diff --git "a/caf\\303\\251 x" "b/caf\\303\\251 x"\n{mode}').path == "caf\u00e9 x"
    assert only(f"diff --git a/x b/x y\n{mode}").path == "x y"  # a rename would say so in "rename to"
    binary = only("diff --git a/rock and roll.png b/rock and roll.png\nindex 1..2 100644\n"
                  "Binary files a/rock and roll.png and b/rock and roll.png differ\n")
    assert (binary.path, binary.status) == ("rock and roll.png", "binary")
    svn = only("--- dir/name with space.txt\t(revision 1)\n+++ dir/name with space.txt\t(working copy)\n"
               "@@ -1 +1 @@\n-a\n+b\n")
    assert svn.path == "dir/name with space.txt"


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("data", ["", "   \n\n", b"", b"\n\t\n"])
def test_empty_input(data: str | bytes) -> None:
    assert parse_diff(data).files == () and parse_diff(data).skipped == ()


def test_not_a_diff() -> None:
    with pytest.raises(InputError) as err:
        parse_diff("Hello,\nthis is a letter, not a diff " + "x" * 500 + "\n")
    message = str(err.value)
    assert message.startswith("input is not a unified diff: ") and "`git diff`" in message
    assert "\n" not in message and "x" * 61 not in message


def test_hunks_without_file_header_are_not_a_diff() -> None:
    with pytest.raises(InputError, match="hunk header at line 2 but no file header"):
        parse_diff("\n@@ -1 +1 @@\n-a\n+b\n")


def break_file(diff: bytes, path: bytes, old: bytes, new: bytes) -> bytes:
    start = diff.index(b"diff --git a/" + path)
    end = diff.find(b"diff --git", start + 1)
    end = len(diff) if end < 0 else end
    section = diff[start:end]
    assert old in section
    return diff[:start] + section.replace(old, new, 1) + diff[end:]


def test_broken_file_is_skipped_and_others_kept() -> None:
    multi = fixture("multi.diff")
    cases = {
        # b.py's first hunk claims 7 new lines but has 6: the next @@ comes early
        b"@@ -1,6 +1,7 @@": (b"@@ -1,6 +1,6 @@", "diff line 16: hunk @@ -1,6 +1,7 @@ ends after 6 of 7 new "
                             "lines (counts disagree with the header?)"),
        # claims 5 new lines but has 6
        b"@@ -1,6 +1,5 @@": (b"@@ -1,6 +1,6 @@", "diff line 23: hunk @@ -1,6 +1,5 @@ has more new lines "
                             "than its header says"),
        # garbage in the middle of a hunk: never echoed into a Skipped
        b" line 4\nGARBAGE here\n": (b" line 4\n", "diff line 22: hunk @@ -1,6 +1,6 @@: a line inside the "
                                     "hunk starts with none of ' ', '+', '-'"),
    }
    for bad, (good, detail) in cases.items():
        parsed = parse_diff(break_file(multi, b"b.py", good, bad))
        assert [f.path for f in parsed.files] == ["a.py", "c.py"]
        assert parsed.files == tuple(f for f in parse_diff(multi).files if f.path != "b.py")
        assert [(s.path, s.hunk, s.reason, s.detail) for s in parsed.skipped] == [
            ("b.py", None, "unparsable", detail)]


def test_truncated_diff_keeps_complete_files() -> None:
    multi = fixture("multi.diff")
    cut = multi[:multi.rindex(b" line 8\n")]
    parsed = parse_diff(cut)
    assert [f.path for f in parsed.files] == ["a.py", "b.py"]
    assert parsed.skipped[0].path == "c.py"
    assert parsed.skipped[0].detail.endswith("hunk @@ -4,7 +4,6 @@ ends after 3 of 6 new lines (truncated?)")


def test_truncated_after_file_header() -> None:
    text = "diff --git a/x.py b/x.py\nindex 1..2 100644\n--- a/x.py\n+++ b/x.py\n"
    with pytest.raises(InputError, match=r"^diff line 5: x.py: the file header is not followed by any hunk"):
        parse_diff(text)


def test_every_file_broken_names_the_first_problem() -> None:
    text = ("diff --git a/src/a.py b/src/a.py\n--- a/src/a.py\n+++ b/src/a.py\n"
            "@@ -3,4 +3,5 @@\n ctx\n+new\n")
    with pytest.raises(InputError) as err:
        parse_diff(text)
    assert str(err.value).startswith(
        "diff line 4: src/a.py: hunk @@ -3,4 +3,5 @@ ends after 2 of 5 new lines (truncated?)")


def test_error_quotes_untrusted_text_escaped_and_capped() -> None:
    evil = "::set-output name=x::" + "A" * 200 + "\x1b[31m"
    text = f"--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n{evil}\n"
    with pytest.raises(InputError) as err:
        parse_diff(text)
    message = str(err.value)
    assert "'::set-output name=x::AAA" in message and "A" * 61 not in message and "\x1b" not in message
    assert "\n" not in message


def test_weird_path_is_escaped_in_messages() -> None:
    text = '--- "a/x\\033[31m\\nevil"\n+++ "b/x\\033[31m\\nevil"\n@@ -1 +1 @@\n-a\n'
    with pytest.raises(InputError) as err:
        parse_diff(text)
    message = str(err.value)
    assert "\x1b" not in message and "\n" not in message and "'x\\x1b[31m\\nevil'" in message


def test_combined_diff_is_unparsable() -> None:
    text = ("diff --cc f.py\nindex 1,2..3\n--- a/f.py\n+++ b/f.py\n@@@ -1,1 -1,1 +1,1 @@@\n- a\n -b\n++c\n"
            + fixture("crlf.diff").decode())
    parsed = parse_diff(text)
    assert [f.path for f in parsed.files] == ["win.txt"]
    assert parsed.skipped[0].reason == "unparsable" and "combined" in parsed.skipped[0].detail


# Lines that diffs are made of, so random inputs reach the parser's corners, not just "not a diff".
DIFF_LINES = st.sampled_from([
    "diff --git a/x b/x", "diff --git \"a/\\303\\251\" b/y", "--- a/x", "+++ b/x", "--- /dev/null",
    "+++ /dev/null", "@@ -1 +1 @@", "@@ -1,2 +1,3 @@ f", "@@ -0,0 +1 @@", "@@ -1 +0,0 @@", " ctx", "+add",
    "-del", "", "\\ No newline at end of file", "new file mode 100644", "deleted file mode 100644",
    "rename from a", "rename to b", "old mode 100644", "new mode 100755", "Binary files a/x and b/x differ",
    "GIT binary patch", "index 1..2 160000", "+Subproject commit " + "1" * 40, "garbage", "-- ", "\r",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(DIFF_LINES | st.text(max_size=12) | st.builds("+{}".format, st.text(max_size=8)),
                max_size=25),
       st.sampled_from(["\n", "\r\n"]))
def test_random_diffs_never_crash(lines: list[str], newline: str) -> None:
    try:
        parsed = parse_diff(newline.join(lines))
    except InputError as err:
        assert "\n" not in str(err)
        return
    for f in parsed.files:
        for h in f.hunks:
            assert sum(1 for ln in h.lines if ln.kind != "+") == h.old_len
            assert sum(1 for ln in h.lines if ln.kind != "-") == h.new_len


# --- GitHub per-file patches --------------------------------------------------------------

def test_file_patch_statuses_and_missing_patch() -> None:
    assert parse_file_patch("img.png", None, "modified").hunks == ()
    added = parse_file_patch("n.py", "@@ -0,0 +1,2 @@\n+a\n+b", "added")
    assert (added.status, added.old_path, added.language) == ("added", None, "python")
    assert added.commentable("RIGHT") == {1, 2}
    renamed = parse_file_patch("new.py", None, "renamed", "old.py")
    assert (renamed.status, renamed.old_path) == ("renamed", "old.py")
    assert parse_file_patch("run.sh", None, "changed").status == "mode"
    assert parse_file_patch("run.sh", "@@ -1 +1,2 @@\n a\n+b", "changed").status == "modified"
    assert parse_file_patch("x", None, "removed").status == "removed"
    sub = parse_file_patch("vendor/lib", "@@ -1 +1 @@\n-Subproject commit " + "1" * 40
                           + "\n+Subproject commit " + "2" * 40, "modified")
    assert sub.is_submodule


def test_file_patch_no_newline_marker() -> None:
    f = parse_file_patch("n.txt", "@@ -1,3 +1,4 @@\n a\n b\n-c\n\\ No newline at end of file\n+C\n+d\n"
                         "\\ No newline at end of file", "modified")
    assert f == only(fixture("no_newline.diff"))


@pytest.mark.parametrize("patch, message", [
    ("@@ -1,2 +1,2 @@\n a\n-b",
     r"^x.py: patch line 1: hunk @@ -1,2 \+1,2 @@ ends after 1 of 2 new lines \(truncated\?\)$"),
    ("@@ -1 +1 @@\n-a\n+b\n+c",
     r"^x.py: patch line 4: hunk @@ -1,1 \+1,1 @@ has more lines than its header says$"),
    ("not a hunk\n@@ -1 +1 @@\n-a\n+b", r"^x.py: patch line 1: expected a hunk header, got 'not a hunk'"),
])
def test_file_patch_malformed(patch: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_file_patch("x.py", patch, "modified")


def test_language_for() -> None:
    assert language_for("src/a.py") == "python"
    assert language_for("web/App.TSX") == "typescript"
    assert language_for("Dockerfile") == "dockerfile"
    assert language_for("docker/Dockerfile.dev") == "dockerfile"
    assert language_for("Makefile") == "makefile"
    assert language_for("README") is None
    assert language_for("templates/page.j2") == "jinja"
