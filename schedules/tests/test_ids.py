"""schedules.ids: job ids are random version-4 UUIDs, unique across threads and across a fork."""

import os
import threading
import uuid

from schedules import ids


def test_an_id_is_a_random_version_4_uuid_like_uuid4_makes():
    made = [ids.uuid4() for _ in range(1000)]
    assert all(isinstance(u, uuid.UUID) for u in made)
    assert {u.version for u in made} == {4}
    assert {u.variant for u in made} == {uuid.RFC_4122}
    assert len(set(made)) == 1000  # past several refills of the pool (256 ids a read)


def test_threads_draw_from_pools_of_their_own():
    made: list[list[uuid.UUID]] = [[], []]

    def draw(into):
        into.extend(ids.uuid4() for _ in range(600))

    threads = [threading.Thread(target=draw, args=(into,)) for into in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made[0]) | set(made[1])) == 1200


def test_a_forked_child_never_makes_the_ids_its_parent_makes_next():
    ids.uuid4()  # the pool now holds unread bytes, which fork copies into the child
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        try:
            os.close(read)
            os.write(write, b"".join(ids.uuid4().bytes for _ in range(10)))
        finally:
            os._exit(0)
    os.close(write)
    child = b""
    while chunk := os.read(read, 4096):
        child += chunk
    os.close(read)
    os.waitpid(pid, 0)
    parent = b"".join(ids.uuid4().bytes for _ in range(10))
    assert len(child) == 160
    assert {child[i : i + 16] for i in range(0, 160, 16)}.isdisjoint(
        {parent[i : i + 16] for i in range(0, 160, 16)}
    )
