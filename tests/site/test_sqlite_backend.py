"""wireflow_site.backends.sqlite3: SQLite write transactions queue on a lock file."""

from __future__ import annotations

import fcntl
import os
import threading

import pytest
from django.db import connections, transaction

ALIAS = "serial"


@pytest.fixture(autouse=True)
def _unblocked(django_db_blocker):
    """These databases are the tests' own, not the test database: pytest-django's guard off."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def serial_db(tmp_path, _unblocked):
    """A file database of its own on the backend, as `make run` configures it."""
    name = str(tmp_path / "db.sqlite3")
    connections.settings[ALIAS] = connections.configure_settings({
        "default": {}, ALIAS: {"ENGINE": "wireflow_site.backends.sqlite3", "NAME": name,
                               "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20}}})[ALIAS]
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("CREATE TABLE t (n INTEGER)")
    yield name
    connections[ALIAS].close()
    del connections[ALIAS]
    del connections.settings[ALIAS]


def _held(name: str) -> bool:
    """Whether some connection holds the writers' lock (another open file asks for it)."""
    fd = os.open(f"{name}-writers.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _insert(n: int) -> None:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("INSERT INTO t (n) VALUES (%s)", [n])


def _rows() -> list[int]:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT n FROM t ORDER BY rowid")
        return [n for (n,) in cursor.fetchall()]


def test_a_write_transaction_holds_the_lock_from_begin_to_commit(serial_db):
    assert not _held(serial_db)
    with transaction.atomic(using=ALIAS):
        assert _held(serial_db)
        _insert(1)
        with transaction.atomic(using=ALIAS):  # a savepoint: still the one transaction
            _insert(2)
        assert _held(serial_db)
    assert not _held(serial_db)
    assert _rows() == [1, 2]


def test_a_rolled_back_transaction_lets_go_of_the_lock(serial_db):
    with pytest.raises(ZeroDivisionError), transaction.atomic(using=ALIAS):
        _insert(1)
        assert _held(serial_db)
        1 / 0  # noqa: B018
    assert not _held(serial_db)
    assert _rows() == []


def test_closing_a_connection_mid_transaction_lets_go_of_the_lock(serial_db):
    connection = connections[ALIAS]
    connection.set_autocommit(False)
    connection.in_atomic_block = True  # as atomic() leaves it when a request is cut off
    connection._start_transaction_under_autocommit()
    assert _held(serial_db)
    connection.in_atomic_block = False
    connection.close()
    assert not _held(serial_db)


def test_a_second_writer_waits_for_the_first_and_both_commit(serial_db):
    inside, release, order = threading.Event(), threading.Event(), []

    def first():
        with transaction.atomic(using=ALIAS):
            _insert(1)
            inside.set()
            release.wait(10)
            order.append("first ends")
        connections[ALIAS].close()

    def second():
        inside.wait(10)
        with transaction.atomic(using=ALIAS):
            order.append("second begins")
            _insert(2)
        connections[ALIAS].close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inside.wait(10)
    assert _held(serial_db)
    release.set()
    for thread in threads:
        thread.join(20)
    assert order == ["first ends", "second begins"]
    assert _rows() == [1, 2]
    assert not _held(serial_db)


def test_an_in_memory_database_takes_no_lock(tmp_path):
    connections.settings["memory"] = connections.configure_settings({
        "default": {}, "memory": {"ENGINE": "wireflow_site.backends.sqlite3",
                                  "NAME": ":memory:"}})["memory"]
    try:
        with transaction.atomic(using="memory"), connections["memory"].cursor() as cursor:
            cursor.execute("SELECT 1")
        assert connections["memory"]._writer_fd is None
    finally:
        del connections["memory"]
        del connections.settings["memory"]
