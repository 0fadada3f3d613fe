"""The embedded MongoDB (nx-27017) for the test session: a real server process on a free port."""

from pathlib import Path

from core.embedded_mongo import EmbeddedMongo, free_port


def start_embedded(directory: Path) -> EmbeddedMongo:
    return EmbeddedMongo(db_path=directory / "mongo.db", port=free_port()).start()
