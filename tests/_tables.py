"""Test helper: write a small CSV table."""

import csv


def write_csv(path, header, rows):
    """Write ``header`` (skipped when empty) and ``rows`` to ``path`` as CSV; return ``path``."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path
