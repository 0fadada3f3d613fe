"""Uploaded files in MongoDB GridFS, behind Django's Storage API.

Every upload in the platform goes through `default_storage`, so callers (notices now;
teaching records, certificates, knowledge media later) never know where bytes live. Files
are streamed in GridFS chunks both ways, never read whole into memory, and they have no
public URL: core.uploads.serve_file() sends them from an authorised view.
"""

from __future__ import annotations

import posixpath
import uuid
from datetime import UTC, datetime

from django.core.files.base import File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible

from . import mongo


class GridFSFile(File):
    """A read-only file over a GridFS download stream (reads chunk by chunk)."""

    def __init__(self, stream, name: str) -> None:
        super().__init__(stream, name=name)
        self.mode = "rb"

    @property
    def size(self) -> int:
        return self.file.length

    def chunks(self, chunk_size: int | None = None):
        self.file.seek(0)
        while chunk := self.file.read(chunk_size or self.DEFAULT_CHUNK_SIZE):
            yield chunk

    def close(self) -> None:
        self.file.close()


@deconstructible(path="core.storage.GridFSStorage")
class GridFSStorage(Storage):
    """Names are unique paths like notices/2026/11/<uuid>.pdf; the name is GridFS's filename."""

    bucket_name = "media"

    def __init__(self, bucket_name: str | None = None) -> None:
        self.bucket_name = bucket_name or self.bucket_name

    def _bucket(self):
        return mongo.bucket(self.bucket_name)

    def _open(self, name: str, mode: str = "rb") -> GridFSFile:
        if "w" in mode or "a" in mode:
            raise ValueError("GridFS files are written through save()")
        with mongo.guard():
            try:
                stream = self._bucket().open_download_stream_by_name(name)
            except mongo.NoFile:
                raise FileNotFoundError(name) from None
        return GridFSFile(stream, name)

    def _save(self, name: str, content) -> str:
        content_type = getattr(content, "content_type", None) or "application/octet-stream"
        with mongo.guard():
            upload = self._bucket().open_upload_stream(name, metadata={"content_type": content_type})
            try:
                if hasattr(content, "seek"):
                    content.seek(0)
                for chunk in content.chunks() if hasattr(content, "chunks") else iter(lambda: content.read(65536), b""):
                    upload.write(chunk)
            except BaseException:
                upload.abort()
                raise
            upload.close()
        return name

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        """Never overwrite: a clash gets a fresh random suffix (names already carry a uuid)."""
        while self.exists(name):
            root, ext = posixpath.splitext(name)
            name = f"{root}-{uuid.uuid4().hex[:8]}{ext}"
        return name

    # Look-ups go through GridFSBucket.find(): nx-27017 cannot count_documents() on a .files collection.
    def _find(self, name: str):
        with mongo.guard():
            return next(iter(self._bucket().find({"filename": name}).limit(1)), None)

    def delete(self, name: str) -> None:
        with mongo.guard():
            for grid_out in self._bucket().find({"filename": name}):
                self._bucket().delete(grid_out._id)

    def exists(self, name: str) -> bool:
        return self._find(name) is not None

    def size(self, name: str) -> int:
        grid_out = self._find(name)
        if grid_out is None:
            raise FileNotFoundError(name)
        return grid_out.length

    def get_modified_time(self, name: str) -> datetime:
        grid_out = self._find(name)
        if grid_out is None:
            raise FileNotFoundError(name)
        moment = grid_out.upload_date
        if isinstance(moment, str):  # nx-27017 hands back ISO text
            moment = datetime.fromisoformat(moment)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def listdir(self, path: str):
        prefix = path.rstrip("/") + "/" if path else ""
        dirs, files = set(), []
        with mongo.guard():
            for grid_out in self._bucket().find({}):
                name = grid_out.filename
                if not name.startswith(prefix):
                    continue
                rest = name[len(prefix) :]
                if "/" in rest:
                    dirs.add(rest.split("/", 1)[0])
                else:
                    files.append(rest)
        return sorted(dirs), sorted(files)

    def url(self, name: str) -> str:
        raise NotImplementedError("Uploads have no public URL: serve them through an authorised view.")
