"""Uploads in GridFS through Django's Storage API, on the embedded wire-protocol server."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core.storage import GridFSStorage


def test_uploads_go_to_gridfs_by_default():
    assert isinstance(default_storage, GridFSStorage)


def test_a_file_is_saved_streamed_back_and_deleted(mongo_db):
    storage = GridFSStorage()
    data = b"%PDF-1.4 " + b"x" * 600_000  # several GridFS chunks
    name = storage.save("notices/2026/11/排班表.pdf", ContentFile(data))
    assert storage.exists(name)
    assert storage.size(name) == len(data)
    assert storage.get_modified_time(name).tzinfo is not None
    with storage.open(name) as handle:
        chunks = list(handle.chunks(chunk_size=100_000))
    assert len(chunks) == 7 and b"".join(chunks) == data
    assert storage.listdir("notices/2026") == (["11"], [])
    storage.delete(name)
    assert not storage.exists(name)
    with pytest.raises(FileNotFoundError):
        storage.open(name)


def test_a_second_file_with_the_same_name_never_overwrites_the_first(mongo_db):
    storage = GridFSStorage()
    first = storage.save("a/report.pdf", ContentFile(b"one"))
    second = storage.save("a/report.pdf", ContentFile(b"two"))
    assert first != second
    assert storage.open(first).read() == b"one" and storage.open(second).read() == b"two"


def test_files_have_no_public_url():
    with pytest.raises(NotImplementedError):
        GridFSStorage().url("a/report.pdf")
