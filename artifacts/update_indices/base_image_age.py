"""Warns, loudly, when the indexer's base image is older than BASE_IMAGE_MAX_AGE_DAYS (90), naming its date.

Lambda never patches a container image: "you must create a new container image from the updated base image
and redeploy your function" ("Understanding how Lambda manages runtime version updates",
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html). So an old pin in ./base-image means an
image without the base's patches since. build-image.sh calls this before building and never fails because of
it: deploys must work; the warning, and the repositories' scan findings paging the on-call, say it is time for
`make base-image-pin`.

The date is the one in the pinned tag (AWS's dated tags, ``3.11.2023.09.29.09``: version, then year, month,
day and hour), else the creation date passed as the second argument (what ``docker image inspect`` reports
for a floating tag such as ``3.11@sha256:...``). BASE_IMAGE_TODAY (YYYY-MM-DD) sets today, for tests.

Usage: base_image_age.py BASE_IMAGE [CREATED]   exit 0: judged (warned or not); 4: no date known.
Standard library only: it runs wherever the apply runs, before any virtualenv exists.
"""

from __future__ import annotations

import datetime
import os
import re
import sys

MAX_AGE_DAYS = 90
NO_DATE = 4
# year.month.day after a version in the tag (between the last ':' after the last '/' and any '@digest')
TAG_DATE = re.compile(r"(?:^|\.)(20\d\d)\.(\d\d)\.(\d\d)(?:\.\d\d)?$")


def tag_of(image: str) -> str:
    """The tag of ``registry/repository:tag@sha256:...`` ('' without one; a registry's port is no tag)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def date_of(image: str, created: str = "") -> datetime.date | None:
    """The base image's date: its tag's, else ``created`` (an RFC 3339 timestamp), else None."""
    match = TAG_DATE.search(tag_of(image))
    if match:
        try:
            return datetime.date(*(int(part) for part in match.groups()))
        except ValueError:
            pass
    if created:
        try:
            return datetime.date.fromisoformat(created.strip()[:10])
        except ValueError:
            return None
    return None


def warning(image: str, date: datetime.date, today: datetime.date, max_age_days: int) -> str | None:
    """The warning's lines when ``date`` is more than ``max_age_days`` before ``today``, else None."""
    age = (today - date).days
    if age <= max_age_days:
        return None
    lines = [
        "*" * 100,
        f"The indexer's base image dates from {date.isoformat()}: {age} days old, more than {max_age_days}.",
        f"  {image}",
        "Lambda never patches a container image: this one lacks every base-image patch published since.",
        "Run `make base-image-pin` where public.ecr.aws is reachable, commit",
        "artifacts/update_indices/base-image and apply dev again (README.md, Deploy). The build goes on.",
        "*" * 100,
    ]
    return "\n".join(f"build-image.sh: WARNING {line}" for line in lines)


def _today() -> datetime.date:
    given = os.environ.get("BASE_IMAGE_TODAY", "")
    if given:
        return datetime.date.fromisoformat(given)
    # timezone.utc, not datetime.UTC: the apply's python3 may be older than 3.11 (macOS ships 3.9)
    return datetime.datetime.now(datetime.timezone.utc).date()  # noqa: UP017


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print("usage: base_image_age.py BASE_IMAGE [CREATED]", file=sys.stderr)
        return 2
    date = date_of(argv[0], argv[1] if len(argv) > 1 else "")
    if date is None:
        return NO_DATE
    max_age = int(os.environ.get("BASE_IMAGE_MAX_AGE_DAYS", MAX_AGE_DAYS))
    text = warning(argv[0], date, _today(), max_age)
    if text:
        print(text, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
