"""The external version: ordered per item, within OpenSearch's range, and below any later stream record."""

from __future__ import annotations

import pytest

from indexer.versions import (
    LOW_BITS,
    MAX_VERSION,
    SKEW_MARGIN_S,
    snapshot_version,
    stream_version,
    version_seconds,
)

SEQ = 100000000017454423009  # a 21-digit sequence number as moto and DynamoDB hand out


def test_later_second_wins_whatever_the_sequence_number() -> None:
    assert stream_version(1_700_000_001, str(SEQ)) > stream_version(1_700_000_000, str(SEQ + 2**31 - 1))


def test_same_second_is_ordered_by_sequence_number() -> None:
    assert stream_version(1_700_000_000.9, str(SEQ + 1)) > stream_version(1_700_000_000.1, str(SEQ))


def test_forty_digit_sequence_numbers_and_year_2106_fit_in_a_signed_long() -> None:
    version = stream_version(2**32 - 1, "9" * 40)
    assert 0 < version <= MAX_VERSION
    assert version_seconds(version) == 2**32 - 1


def test_duplicate_record_has_an_equal_version() -> None:
    assert stream_version(1_700_000_000, str(SEQ)) == stream_version(1_700_000_000.5, str(SEQ))


def test_snapshot_version_loses_to_records_written_after_the_scan_started() -> None:
    started = 1_700_000_000.0
    snapshot = snapshot_version(started)
    assert snapshot < stream_version(started - SKEW_MARGIN_S + 1, "0")
    assert snapshot > stream_version(started - SKEW_MARGIN_S - 1, str(2**31 - 1))
    assert snapshot == (int(started) - SKEW_MARGIN_S) << LOW_BITS


@pytest.mark.parametrize(("seconds", "sequence"), [(-1, "1"), (2**32, "1"), (1.0, "x1"), (1.0, "")])
def test_out_of_range_inputs_are_rejected(seconds: float, sequence: str) -> None:
    with pytest.raises(ValueError, match=r"ApproximateCreationDateTime|SequenceNumber"):
        stream_version(seconds, sequence)
