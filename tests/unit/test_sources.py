import hashlib
import json
from pathlib import Path

from moderation.sources.files import CsvFileSource, JsonlFileSource

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_seed_thread_reads_every_comment_with_its_post() -> None:
    batch = JsonlFileSource("examples", EXAMPLES / "seed_thread.jsonl", EXAMPLES / "seed_post.json").fetch(None)
    assert [c.id for c in batch.comments] == [f"c{i}" for i in range(1, 12)]
    assert batch.rejected == []
    assert batch.posts[0].author == "tim"
    c7 = batch.comments[6]
    assert (c7.author, c7.parent_id, c7.post_id) == ("Douglas", "c6", "post-belenko")


def test_malformed_line_and_empty_text_are_rejected_with_location_and_the_rest_kept(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "c.jsonl",
        [
            {"id": "a", "author": "x", "text": "fine"},
            '{"id": "b", "text": ',
            {"id": "c", "author": "y", "text": "   "},
            {"id": "d", "author": "z", "text": "also fine", "created_at": "not a date"},
            ["not", "an", "object"],
            {"id": "e", "author": "w", "text": "last one"},
        ],
    )
    batch = JsonlFileSource("s", path).fetch(None)
    assert [c.id for c in batch.comments] == ["a", "e"]
    assert [(r.location, r.error.split(":")[0]) for r in batch.rejected] == [
        (f"{path}:2", "invalid JSON"),
        (f"{path}:3", "text"),
        (f"{path}:4", "created_at"),
        (f"{path}:5", "expected an object, got list"),
    ]
    assert batch.rejected[1].external_id == "c"
    assert batch.rejected[1].error == "text: text is empty"


def test_jsonl_watermark_reads_only_appended_lines(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", [{"id": "1", "text": "one"}])
    source = JsonlFileSource("s", path)
    first = source.fetch(None)
    with path.open("a") as handle:
        handle.write(json.dumps({"id": "2", "text": "two"}) + "\n")
    second = source.fetch(first.watermark)
    assert [c.id for c in second.comments] == ["2"]
    assert source.fetch(second.watermark).comments == []


def test_jsonl_line_still_being_written_waits_for_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"id": "1", "text": "one"}) + "\n" + '{"id": "2", "te')
    source = JsonlFileSource("s", path)
    first = source.fetch(None)
    assert [c.id for c in first.comments] == ["1"] and first.rejected == []
    with path.open("a") as handle:
        handle.write('xt": "two"}\n')
    assert [c.id for c in source.fetch(first.watermark).comments] == ["2"]


def test_replaced_file_is_read_again_from_the_start(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", [{"id": "1", "text": "one"}, {"id": "2", "text": "two"}])
    source = JsonlFileSource("s", path)
    watermark = source.fetch(None).watermark
    _jsonl(path, [{"id": "3", "text": "x"}])
    assert [c.id for c in source.fetch(watermark).comments] == ["3"]


def test_integer_ids_become_strings(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", [{"id": 7, "post_id": 1, "parent_id": 3, "text": "hi", "author": None}])
    comment = JsonlFileSource("s", path).fetch(None).comments[0]
    assert (comment.id, comment.post_id, comment.parent_id, comment.author) == ("7", "1", "3", "")


def test_csv_rows_are_read_and_bad_rows_rejected(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "id,post_id,author,parent_id,created_at,text\n"
        "1,p1,Ann,,2024-01-01T10:00:00Z,Hello there\n"
        "2,p1,Bob,1,2024-01-01T11:00:00Z,\n"
        '3,p1,Cy,1,2024-01-01T12:00:00Z,"Ann, you are wrong"\n'
        "4,p1,Di,1,2024-01-01T12:00:00Z,too,many\n"
    )
    source = CsvFileSource("s", path)
    batch = source.fetch(None)
    assert [(c.id, c.parent_id) for c in batch.comments] == [("1", None), ("3", "1")]
    assert [(r.location, r.error) for r in batch.rejected] == [
        (f"{path}:3", "text: text is empty"),
        (f"{path}:5", "row has more fields than the header"),
    ]
    with path.open("a") as handle:
        handle.write("5,p1,Ed,,2024-01-02T10:00:00Z,new\n")
    assert [c.id for c in source.fetch(batch.watermark).comments] == ["5"]


def test_post_fields_in_records_become_posts(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", [{"id": "1", "post_id": "p", "post_title": "T", "text": "x"}])
    assert [(p.id, p.title) for p in JsonlFileSource("s", path).fetch(None).posts] == [("p", "T")]


def test_jsonl_pages_hold_page_size_records_and_each_watermark_resumes_after_its_page(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", [{"id": str(i), "text": f"comment {i}"} for i in range(5)])
    pages = list(JsonlFileSource("s", path, page_size=2).pages(None))
    assert [[c.id for c in page.comments] for page in pages] == [["0", "1"], ["2", "3"], ["4"]]
    resumed = JsonlFileSource("s", path, page_size=2).fetch(pages[0].watermark)
    assert [c.id for c in resumed.comments] == ["2", "3", "4"]


def test_csv_pages_resume_after_the_stored_page(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,text\n" + "".join(f"{i},comment {i}\n" for i in range(5)))
    pages = list(CsvFileSource("s", path, page_size=3).pages(None))
    assert [[c.id for c in page.comments] for page in pages] == [["0", "1", "2"], ["3", "4"]]
    assert [c.id for c in CsvFileSource("s", path).fetch(pages[0].watermark).comments] == ["3", "4"]


def test_a_file_records_author_id_and_only_a_hash_of_the_email(tmp_path: Path) -> None:
    comments = tmp_path / "c.jsonl"
    comments.write_text(
        '{"id": "1", "text": "hi", "author": "Mike", "author_id": 7, "author_email": "Mike@Example.org"}\n'
        '{"id": "2", "text": "hi", "author": "Mike", "author_id": 0}\n',
        encoding="utf-8",
    )
    member, guest = JsonlFileSource("f", comments).fetch(None).comments
    assert (member.author_id, guest.author_id) == ("7", None)
    assert member.author_email_hash == hashlib.sha256(b"mike@example.org").hexdigest()
    assert "Mike@Example.org" not in repr(member)
