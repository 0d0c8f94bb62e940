import time


def away_from_the_minute_edge() -> None:
    """Minute windows are fixed: start a counting test with at least 5 s left in the minute."""
    if time.time() % 60 > 55:
        time.sleep(61 - time.time() % 60)
