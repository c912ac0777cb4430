"""Getting the files a lock names: downloads in parallel, local copies, each checked against its sha256.

The lock already holds the exact URL and hash of every file, so fetching is plain transfers (several at once)
rather than a second resolution: this is what makes a freeze no slower than ``pip download`` of the same set.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import __version__
from ..errors import BundleError
from ._util import CHUNK, disk_full_error, is_disk_full, sha256_file
from .progress import Stage
from .resolve import Artifact

WORKERS = 6
TIMEOUT = 120


def fetch_all(
    artifacts: list[Artifact], dest_dir: Path, stage: Stage, *, reuse: dict[str, Path] | None = None
) -> list[tuple[Path, str, int]]:
    """Put every artifact into ``dest_dir``; returns (path, sha256, size) in the same order."""
    reuse = reuse or {}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(fetch_one, a, dest_dir, stage, reuse) for a in artifacts]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def fetch_one(
    artifact: Artifact, dest_dir: Path, stage: Stage, reuse: dict[str, Path]
) -> tuple[Path, str, int]:
    out = Path(dest_dir) / artifact.filename
    part = out.with_name(f".{out.name}.part")
    try:
        known = reuse.get(artifact.sha256 or "")
        if artifact.path is None and (known is None or not known.is_file()):
            digest, size = _download(str(artifact.url), part, stage)
        else:
            source = known if known is not None and known.is_file() else artifact.path
            assert source is not None
            if not source.is_file():
                raise BundleError(f"{source}: the file the resolver chose is gone")
            _link_or_copy(source, part)
            digest, size = sha256_file(part)
            stage.advance(size)
        if artifact.sha256 and digest != artifact.sha256:
            part.unlink(missing_ok=True)
            raise BundleError(
                f"{artifact.filename}: its sha256 is {digest}, the index said {artifact.sha256}",
                hint="the download was corrupted or the index changed; freeze again",
            )
        os.replace(part, out)
        return out, digest, size
    except OSError as exc:
        part.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full_error(out) from None
        raise BundleError(f"cannot fetch {artifact.location}: {exc}") from None


def _link_or_copy(source: Path, dest: Path) -> None:
    dest.unlink(missing_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)


def _download(url: str, dest: Path, stage: Stage) -> tuple[str, int]:
    request = urllib.request.Request(url, headers={"User-Agent": f"kaggle-magics/{__version__}"})
    digest = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response, open(dest, "wb") as handle:
            while chunk := response.read(CHUNK):
                handle.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                stage.advance(len(chunk))
    except urllib.error.HTTPError as exc:
        dest.unlink(missing_ok=True)
        raise BundleError(
            f"cannot download {url}: HTTP {exc.code} {exc.reason}",
            hint="if the index needs credentials, download into a folder and pass it with find_links",
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        dest.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise BundleError(
            f"cannot download {url}: {reason}", hint="check the network, then freeze again"
        ) from None
    return digest.hexdigest(), size
